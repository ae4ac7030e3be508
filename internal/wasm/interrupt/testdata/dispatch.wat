;; Loops in the shape the Go compiler gives every function: a loop whose
;; body begins with blocks, local.get and a br_table over them (the
;; dispatch), each basic block beginning past one of the blocks' ends, and
;; every jump between basic blocks "i32.const n; local.set $pc; br $entry".
;; The pass checks such a loop at its branches that may go backward, not
;; at its header. "forward" and "computed" return; every other function
;; loops for ever by a jump the pass must check.
(module
  ;; Jumps forward only, a number of times set by $x's bits: the fuel it
  ;; takes must not depend on $x.
  (func (export "forward") (param $pc i32) (param $x i32) (result i32)
    (local $acc i32)
    (block $unwind
      (loop $entry
        (block $b3 (block $b2 (block $b1 (block $b0
          (br_table $b0 $b1 $b2 $b3 (local.get $pc)))
          ;; block 0
          (local.set $acc (i32.add (local.get $acc) (i32.const 1)))
          (if (i32.and (local.get $x) (i32.const 1))
            (then (i32.const 2) (local.set $pc) (br $entry)))
          (i32.const 1) (local.set $pc) (br $entry))
          ;; block 1
          (local.set $acc (i32.add (local.get $acc) (i32.const 10)))
          (br_if $entry (i32.and (local.get $x) (i32.const 2)) (i32.const 3) (local.set $pc))
          (i32.const 2) (local.set $pc) (br $entry))
          ;; block 2
          (local.set $acc (i32.add (local.get $acc) (i32.const 100)))
          (i32.const 9) (local.set $pc) (br $entry)) ;; out of the table: the default, block 3
        ;; block 3
        (return (local.get $acc))))
    (unreachable))

  ;; Jumps $x times by a value not known to the pass (pc + 1 or pc - 1):
  ;; the fuel it takes grows with $x.
  (func (export "computed") (param $pc i32) (param $x i32) (result i32)
    (loop $entry
      (block $b1 (block $b0
        (br_table $b0 $b1 (local.get $pc)))
        ;; block 0
        (if (i32.eqz (local.get $x)) (then (return (i32.const 0))))
        (local.set $x (i32.sub (local.get $x) (i32.const 1)))
        (local.set $pc (i32.add (local.get $pc) (i32.const 1)))
        (br $entry))
      ;; block 1
      (local.set $pc (i32.sub (local.get $pc) (i32.const 1)))
      (br $entry))
    (unreachable))

  ;; Block 1 jumps back to block 0 by a constant.
  (func (export "backward") (param $pc i32)
    (loop $entry
      (block $b1 (block $b0
        (br_table $b0 $b1 (local.get $pc)))
        (i32.const 1) (local.set $pc) (br $entry))
      (i32.const 0) (local.set $pc) (br $entry)))

  ;; The same by br_if.
  (func (export "backward_if") (param $pc i32)
    (loop $entry
      (block $b1 (block $b0
        (br_table $b0 $b1 (local.get $pc)))
        (i32.const 1) (local.set $pc) (br $entry))
      (local.get $pc) (i32.const 0) (local.set $pc) (br_if $entry)))

  ;; Constant 1 is less than 0: the table sends it to block 0, which
  ;; comes first.
  (func (export "table_backward") (param $pc i32)
    (loop $entry
      (block $b1 (block $b0
        (br_table $b1 $b0 (local.get $pc)))
        ;; block 0, entered with 1
        (i32.const 0) (local.set $pc) (br $entry))
      ;; block 1, entered with 0
      (i32.const 1) (local.set $pc) (br $entry)))

  ;; Constant 7 is past the table: its default is block 0.
  (func (export "default_backward") (param $pc i32)
    (loop $entry
      (block $b2 (block $b1 (block $b0
        (br_table $b1 $b2 $b0 (local.get $pc)))
        ;; block 0
        (i32.const 0) (local.set $pc) (br $entry))
        ;; block 1, entered with 0
        (i32.const 1) (local.set $pc) (br $entry))
      ;; block 2, entered with 1
      (i32.const 7) (local.set $pc) (br $entry)))

  ;; A forward constant set, then overwritten by a value not known.
  (func (export "set_twice") (param $pc i32)
    (local $zero i32)
    (loop $entry
      (block $b1 (block $b0
        (br_table $b0 $b1 (local.get $pc)))
        (i32.const 1) (local.set $pc) (br $entry))
      (i32.const 1) (local.set $pc) (local.get $zero) (local.set $pc) (br $entry)))

  ;; A forward constant set in another local than the dispatch's.
  (func (export "other_local") (param $pc i32)
    (local $y i32)
    (loop $entry
      (block $b1 (block $b0
        (br_table $b0 $b1 (local.get $pc)))
        (nop))
      (i32.const 1) (local.set $y) (br $entry)))

  ;; A br_table with the loop among its targets.
  (func (export "table_to_loop") (param $pc i32)
    (loop $entry
      (block $b1 (block $b0
        (br_table $b0 $b1 (local.get $pc)))
        (nop))
      (block $out
        (br_table $out $entry (i32.const 1)))))

  ;; An inner dispatch loop that jumps back to the outer one's first block
  ;; by a constant: backward for the outer loop.
  (func (export "nested") (param $pc i32)
    (local $in i32)
    (loop $outer
      (block $o1 (block $o0
        (br_table $o0 $o1 (local.get $pc)))
        (i32.const 1) (local.set $pc) (br $outer))
      (loop $inner
        (block $i1 (block $i0
          (br_table $i0 $i1 (local.get $in)))
          (i32.const 1) (local.set $in) (br $inner))
        (i32.const 0) (local.set $in)
        (i32.const 0) (local.set $pc) (br $outer))))

  ;; Adds $x, $x - 1, ... 1 by a jump backward (the host is called from
  ;; the loop's checks when $x is large), then leaves the loop as $how
  ;; says: 0 by br_table to a block around the loop, 1 by the same
  ;; br_table to the function's label, 2 by br_if to it, 3 by return.
  ;; Branches out of a dispatch loop without a type pass the blocks the
  ;; pass wraps it in.
  (func (export "exits") (param $how i32) (param $x i32) (result i32)
    (local $pc i32) (local $acc i32)
    (i32.add (i32.const 1000)
      (block $outside (result i32)
        (loop $entry
          (block $b1 (block $b0
            (br_table $b0 $b1 (local.get $pc)))
            ;; block 0
            (local.set $acc (i32.add (local.get $acc) (local.get $x)))
            (local.set $x (i32.sub (local.get $x) (i32.const 1)))
            (if (local.get $x) (then (i32.const 0) (local.set $pc) (br $entry)))
            (i32.const 1) (local.set $pc) (br $entry))
          ;; block 1
          (if (i32.eq (local.get $how) (i32.const 3))
            (then (return (i32.mul (local.get $acc) (i32.const 2)))))
          (local.get $acc)
          (br_if 2 (i32.eq (local.get $how) (i32.const 2)))
          (br_table $outside 2 (local.get $how)))
        (unreachable)))))
