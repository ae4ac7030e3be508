;; Functions that never return: a loop, exponential recursion (no loop at
;; all, 2^48 calls at most 48 deep), and a loop that goes round through a
;; br_table inside an if nest.
(module
  (func (export "loop") (param i32)
    (loop $l (br $l)))

  (func $recurse (export "recurse") (param $n i32)
    (if (i32.lt_u (local.get $n) (i32.const 48))
      (then
        (call $recurse (i32.add (local.get $n) (i32.const 1)))
        (call $recurse (i32.add (local.get $n) (i32.const 1))))))

  (func (export "nest") (param $x i32)
    (loop $top
      (if (i32.ge_s (local.get $x) (i32.const 0))
        (then
          (block $a (block $b
            (br_table $a $b $top (i32.and (local.get $x) (i32.const 3))))
            (local.set $x (i32.add (local.get $x) (i32.const 1))))
          (local.set $x (i32.add (local.get $x) (i32.const 2))))
        (else (local.set $x (i32.const 0))))
      (br $top))))
