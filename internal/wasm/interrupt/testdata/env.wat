;; The "env" module the tests give features.wasm: a function and a global
;; to import.
(module
  (func (export "add") (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1)))
  (global (export "g") i32 (i32.const 5)))
