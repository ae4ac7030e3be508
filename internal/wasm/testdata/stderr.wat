;; stderr: riptide_extract writes 3004 bytes to standard error, as a
;; panicking guest would, then traps. Byte 100 or so is invalid UTF-8 and
;; the excerpt the host keeps ends in the middle of a two-byte character:
;; the host must pass on valid UTF-8 of bounded length.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
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
  (data (i32.const 4096) "panic: a hostile message \ff\fe then more")
  (func (export "riptide_extract") (param i32 i32 i32 i32) (result i64)
    ;; 'x' up to byte 2048 of the message, then "é" across the excerpt's
    ;; end, then 'y' up to 3004 bytes
    (memory.fill (i32.const 4133) (i32.const 0x78) (i32.const 2011))
    (i32.store16 (i32.const 6144) (i32.const 0xa9c3))
    (memory.fill (i32.const 6146) (i32.const 0x79) (i32.const 954))
    ;; one iovec at 64: (4096, 3004); bytes written at 72
    (i32.store (i32.const 64) (i32.const 4096))
    (i32.store (i32.const 68) (i32.const 3004))
    (drop (call $fd_write (i32.const 2) (i32.const 64) (i32.const 1) (i32.const 72)))
    (unreachable))
)
