;; Imports from the module name the pass reserves for its host function.
(module
  (import "riptide_host" "interrupt" (func))
  (func (export "f")))
