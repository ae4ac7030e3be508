;; badtree: a module that conforms but for its optional riptide_extract_tree,
;; which takes two parameters instead of four: refused at load.
(module
  (memory (export "memory") 1)
  (func (export "riptide_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "riptide_free") (param i32 i32))
  (func (export "riptide_modes") (result i64) (i64.const 0))
  (func (export "riptide_health") (result i32) (i32.const 0))
  (func (export "riptide_reset"))
  (func (export "riptide_abi_version") (result i32) (i32.const 1))
  (func (export "riptide_extract") (param i32 i32 i32 i32) (result i64) (i64.const 0))
  (func (export "riptide_extract_tree") (param i32 i32) (result i64) (i64.const 0))
)
