;; Loops of no type, whose header's check calls the host out of the loop
;; (the pass wraps them in blocks), left by every kind of branch, and
;; static functions, whose entry calls the host out of line: the module of
;; TestInstrumentKeepsBehaviorAtAnyFuel and BenchmarkTightLoops.
(module
  (type $i2i (func (param i32) (result i32)))
  (table 1 funcref)
  (elem (i32.const 0) $inc)

  ;; Static: calls nothing; reached directly and through the table.
  (func $inc (param $x i32) (result i32)
    (i32.add (local.get $x) (i32.const 1)))

  ;; Static: returns early, branches to its own label, calls $inc.
  (func $early (param $x i32) (result i32)
    (if (i32.eqz (local.get $x)) (then (return (i32.const 7))))
    (drop (br_if 0 (i32.const 9) (i32.eq (local.get $x) (i32.const 1))))
    (call $inc (local.get $x)))

  ;; Sum 1..n: a tight loop, left by br_if.
  (func (export "sum") (param $n i32) (result i32)
    (local $acc i32)
    (block $out
      (loop $next
        (br_if $out (i32.eqz (local.get $n)))
        (local.set $acc (i32.add (local.get $acc) (local.get $n)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $acc))

  ;; A loop calling static functions, directly and through the table,
  ;; left at its end by the way mode names: 0 falls off the loop's end, 1
  ;; returns, 2 branches to the function's label, 3 takes a br_table out.
  (func (export "calls") (param $n i32) (param $mode i32) (result i32)
    (local $acc i32)
    (block $out
      (loop $next
        (local.set $acc
          (i32.add (local.get $acc) (call $early (i32.and (local.get $n) (i32.const 3)))))
        (local.set $acc (call_indirect (type $i2i) (local.get $acc) (i32.const 0)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br_if $next (i32.gt_s (local.get $n) (i32.const 0)))
        (if (i32.eq (local.get $mode) (i32.const 1))
          (then (return (i32.add (local.get $acc) (i32.const 1000)))))
        (if (i32.eq (local.get $mode) (i32.const 2))
          (then (br 3 (i32.add (local.get $acc) (i32.const 2000)))))
        (if (i32.eq (local.get $mode) (i32.const 3))
          (then (br_table 0 2 (i32.const 1))))))
    (local.get $acc))

  ;; Nested loops; the inner one leaves both for the block around them.
  (func (export "nested") (param $n i32) (result i32)
    (local $i i32) (local $acc i32)
    (block $out
      (loop $outer
        (local.set $i (local.get $n))
        (loop $inner
          (local.set $acc (i32.add (local.get $acc) (local.get $i)))
          (br_if $out (i32.gt_u (local.get $acc) (i32.const 1000000000)))
          (local.set $i (i32.sub (local.get $i) (i32.const 1)))
          (br_if $inner (local.get $i)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br_if $outer (local.get $n))))
    (local.get $acc))

  ;; A loop with a result, which keeps its check at the header.
  (func (export "typed") (param $n i32) (result i32)
    (loop $l (result i32)
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l (i32.gt_s (local.get $n) (i32.const 0)))
      (local.get $n))))
