;; Exports the name the pass reserves for its fuel.
(module
  (global (export "riptide_interrupt_fuel") (mut i32) (i32.const 0)))
