;; Functions that never return: a loop, exponential recursion (no loop at
;; all, 2^48 calls at most 48 deep), a loop that goes round through a
;; br_table inside an if nest, and exponential recursion again by a
;; function whose body begins with a loop, whose check at the header
;; counts rounds rather than calls.
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
      (br $top)))

  (func $recurse_loop (export "recurse_loop") (param $n i32)
    (loop $l (br_if $l (i32.eqz (i32.const 1))))
    (if (i32.lt_u (local.get $n) (i32.const 48))
      (then
        (call $recurse_loop (i32.add (local.get $n) (i32.const 1)))
        (call $recurse_loop (i32.add (local.get $n) (i32.const 1)))))))
