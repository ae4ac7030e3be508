;; wat2wasm flags: --no-check
;; An invalid module that names a global past its own, which would be the
;; fuel once instrumented.
(module
  (global $g (mut i32) (i32.const 0))
  (func (export "f")
    (global.set 1 (i32.const 0x7fffffff))))
