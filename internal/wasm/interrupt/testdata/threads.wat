;; wat2wasm flags: --enable-threads
;; An atomic load (the threads proposal), which the pass does not know: it
;; refuses the module rather than guess the instruction's length.
(module
  (memory 1 1 shared)
  (func (export "load") (result i32)
    (i32.atomic.load (i32.const 0))))
