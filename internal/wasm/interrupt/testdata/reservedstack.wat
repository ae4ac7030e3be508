;; A module that exports the stack budget's reserved name.
(module
  (global (export "riptide_stack_budget") i32 (i32.const 0)))
