;; wat2wasm flags: --enable-tail-call
;; Tail calls, which the pass renumbers like calls.
(module
  (func $count (export "count") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (return_call $count (i32.sub (local.get 0) (i32.const 1)))))))
