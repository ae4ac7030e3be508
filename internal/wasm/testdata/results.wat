;; results: riptide_extract returns a result the host must not pass on as it
;; is, chosen by the document's first byte; n is the document's length:
;;   b  {"ok":{"a":[1,1,...,1]}}, 64 KiB of JSON per byte of document (n=256:
;;      16 MiB, 8 million values)
;;   d  {"ok":{"a":[[[...]]]}}, arrays nested n deep
;;   e  {"error":{"code":"INTERNAL","message":"AAA..."}}, 64 KiB of message
;;      per byte of document
;;   u  a string that is not UTF-8
;;   k  the same key twice
;;   n  a number a double cannot hold (1e999)
;;   anything else: {"ok":{}}
(module
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))
  (data (i32.const 16) "[\"test\"]")
  (data (i32.const 32) "{\"ok\":{}}")

  (func (export "riptide_alloc") (param $size i32) (result i32)
    (local $ptr i32)
    (local $end i32)
    (local.set $ptr (global.get $heap))
    (local.set $end (i32.add (local.get $ptr) (local.get $size)))
    (if (i32.gt_u (local.get $end) (i32.mul (memory.size) (i32.const 65536)))
      (then
        (if (i32.eq
              (memory.grow (i32.sub (i32.shr_u (i32.add (local.get $end) (i32.const 65535)) (i32.const 16))
                                    (memory.size)))
              (i32.const -1))
          (then (return (i32.const 0))))))
    (global.set $heap (i32.and (i32.add (local.get $end) (i32.const 7)) (i32.const -8)))
    (local.get $ptr))
  (func (export "riptide_free") (param i32 i32))
  ;; ["test"]: 8 bytes at 16
  (func (export "riptide_modes") (result i64) (i64.const 0x0000001000000008))
  (func (export "riptide_abi_version") (result i32) (i32.const 1))
  (func (export "riptide_health") (result i32) (i32.const 0))
  (func (export "riptide_reset") (global.set $heap (i32.const 1024)))
  (data (i32.const 48) "{\"ok\":{\"a\":\"\ff\"}}")
  (data (i32.const 80) "{\"ok\":{\"a\":1,\"a\":2}}")
  (data (i32.const 112) "{\"ok\":{\"a\":1e999}}")
  (data (i32.const 144) "{\"ok\":{\"a\":[")
  (data (i32.const 160) "{\"error\":{\"code\":\"INTERNAL\",\"message\":\"")

  (func $pack (param $ptr i32) (param $len i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32))
            (i64.extend_i32_u (local.get $len))))

  (func (export "riptide_extract") (param $req i32) (param $reqLen i32) (param $doc i32) (param $docLen i32) (result i64)
    (local $op i32)
    (local $base i32)
    (local $p i32)
    (local $end i32)
    (if (i32.eqz (local.get $docLen))
      (then (return (i64.const 0x0000002000000009))))
    (local.set $op (i32.load8_u (local.get $doc)))
    (if (i32.eq (local.get $op) (i32.const 0x75)) ;; u
      (then (return (call $pack (i32.const 48) (i32.const 16)))))
    (if (i32.eq (local.get $op) (i32.const 0x6b)) ;; k
      (then (return (call $pack (i32.const 80) (i32.const 20)))))
    (if (i32.eq (local.get $op) (i32.const 0x6e)) ;; n
      (then (return (call $pack (i32.const 112) (i32.const 18)))))
    ;; The large results are written past the end of memory as it was.
    (local.set $base (i32.mul (memory.size) (i32.const 65536)))
    (if (i32.eq (memory.grow (i32.add (local.get $docLen) (i32.const 2))) (i32.const -1))
      (then (unreachable)))
    (if (i32.eq (local.get $op) (i32.const 0x62)) ;; b
      (then
        (memory.copy (local.get $base) (i32.const 144) (i32.const 12))
        (local.set $p (i32.add (local.get $base) (i32.const 12)))
        (local.set $end (i32.add (local.get $p) (i32.mul (local.get $docLen) (i32.const 65536))))
        (block $done
          (loop $fill
            (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
            (i32.store16 (local.get $p) (i32.const 0x2c31)) ;; "1,"
            (local.set $p (i32.add (local.get $p) (i32.const 2)))
            (br $fill)))
        (i32.store (local.get $p) (i32.const 0x7d7d5d31)) ;; "1]}}"
        (return (call $pack (local.get $base) (i32.sub (i32.add (local.get $p) (i32.const 4)) (local.get $base))))))
    (if (i32.eq (local.get $op) (i32.const 0x64)) ;; d
      (then
        (memory.copy (local.get $base) (i32.const 144) (i32.const 11))
        (local.set $p (i32.add (local.get $base) (i32.const 11)))
        (memory.fill (local.get $p) (i32.const 0x5b) (local.get $docLen))
        (local.set $p (i32.add (local.get $p) (local.get $docLen)))
        (memory.fill (local.get $p) (i32.const 0x5d) (local.get $docLen))
        (local.set $p (i32.add (local.get $p) (local.get $docLen)))
        (i32.store16 (local.get $p) (i32.const 0x7d7d)) ;; "}}"
        (return (call $pack (local.get $base) (i32.sub (i32.add (local.get $p) (i32.const 2)) (local.get $base))))))
    (if (i32.eq (local.get $op) (i32.const 0x65)) ;; e
      (then
        (memory.copy (local.get $base) (i32.const 160) (i32.const 39))
        (local.set $p (i32.add (local.get $base) (i32.const 39)))
        (local.set $end (i32.mul (local.get $docLen) (i32.const 65536)))
        (memory.fill (local.get $p) (i32.const 0x41) (local.get $end))
        (local.set $p (i32.add (local.get $p) (local.get $end)))
        (i32.store16 (local.get $p) (i32.const 0x7d22)) ;; "}
        (i32.store8 (i32.add (local.get $p) (i32.const 2)) (i32.const 0x7d))
        (return (call $pack (local.get $base) (i32.sub (i32.add (local.get $p) (i32.const 3)) (local.get $base))))))
    (i64.const 0x0000002000000009))
)
