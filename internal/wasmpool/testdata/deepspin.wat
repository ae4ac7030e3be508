;; deepspin: deep (internal/wasm/testdata/deep.wat) whose riptide_extract,
;; once as many calls deep as its document has bytes, loops until the host
;; stops it: a call that holds its stack while the tests look at the
;; memory figures.
(module
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))
  (data (i32.const 16) "[\"test\"]")

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
  (func $down (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then
        (loop $spin (br $spin))
        (i32.const 0))
      (else (i32.add (call $down (i32.sub (local.get $n) (i32.const 1))) (i32.const 1)))))
  (func (export "riptide_extract") (param i32 i32 i32) (param $len i32) (result i64)
    (drop (call $down (local.get $len)))
    (unreachable))
)
