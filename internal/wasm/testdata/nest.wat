;; nest: riptide_extract goes round a loop for ever through a br_table
;; inside an if nest.
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
  (func (export "riptide_health") (result i32) (i32.const 0))
  (func (export "riptide_reset") (global.set $heap (i32.const 1024)))
  (func (export "riptide_abi_version") (result i32) (i32.const 1))
  (func (export "riptide_extract") (param $p i32) (param i32 i32) (param $n i32) (result i64)
    (local $x i32)
    (local.set $x (local.get $n))
    (loop $top
      (if (i32.ge_s (local.get $x) (i32.const 0))
        (then
          (block $a (block $b
            (br_table $a $b $top (i32.and (local.get $x) (i32.const 3))))
            (local.set $x (i32.add (local.get $x) (i32.const 1))))
          (local.set $x (i32.add (local.get $x) (i32.const 2))))
        (else (local.set $x (i32.const 0))))
      (br $top))
    (unreachable))
)
