;; wat2wasm flags: --no-check
;; The same by a br_table.
(module
  (func (export "f") (param $pc i32)
    (loop $entry
      (block $b0
        (br_table $b0 (local.get $pc)))
      (br_table 0 2 (local.get $pc)))))
