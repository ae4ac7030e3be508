;; wat2wasm flags: --no-check
;; An invalid module that branches past the function's label from a
;; dispatch loop: once the loop is wrapped (appendLoopWrap), the label
;; would name a block the pass added, one that enters the loop again
;; without a check.
(module
  (func (export "f") (param $pc i32)
    (loop $entry
      (block $b0
        (br_table $b0 (local.get $pc)))
      (br 2))))
