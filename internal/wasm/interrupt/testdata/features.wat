;; wat2wasm flags: --debug-names
;; Every construct the pass rewrites or must step over: imports of each
;; kind, multi-value blocks and loops with parameters, br_table, typed
;; select, reference types, bulk memory, SIMD, element segments of indices
;; and of expressions, a global holding a function reference, a start
;; function, exported functions and names.
(module
  (type $binop (func (param i32 i32) (result i32)))
  (import "env" "add" (func $add (type $binop)))
  (import "env" "g" (global $imported i32))
  (memory (export "memory") 1)
  (table $t 8 funcref)
  (table $refs 2 externref)
  (global $counter (mut i32) (i32.const 0))
  (global $fref funcref (ref.func $sum))
  (elem (table $t) (i32.const 0) func $sum $fib $sum $add)
  (elem funcref (ref.func $fib) (ref.null func))
  (elem declare func $pair)
  (data $d "hello, world")
  (start $init)

  (func $init
    (global.set $counter (i32.const 1)))

  ;; sum 1..n with a loop
  (func $sum (export "sum") (param $n i32) (result i32)
    (local $acc i32)
    (block $out
      (loop $next
        (br_if $out (i32.eqz (local.get $n)))
        (local.set $acc (i32.add (local.get $acc) (local.get $n)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $acc))

  ;; recursion, no loop
  (func $fib (export "fib") (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else
        (call $add
          (call $fib (i32.sub (local.get $n) (i32.const 1)))
          (call $fib (i32.sub (local.get $n) (i32.const 2)))))))

  ;; multi-value: a loop with parameters and results
  (func $pair (export "pair") (param i32) (result i32 i32)
    (local.get 0)
    (i32.const 0)
    (loop (param i32 i32) (result i32 i32)
      (call $swap))
    )
  (func $swap (param i32 i32) (result i32 i32)
    (local.get 1) (local.get 0))

  ;; br_table inside a loop inside an if
  (func $classify (export "classify") (param $x i32) (result i32)
    (local $steps i32)
    (if (i32.ge_s (local.get $x) (i32.const 0))
      (then
        (loop $again
          (block $c (block $b (block $a
            (br_table $a $b $c (i32.rem_u (local.get $x) (i32.const 3))))
            (local.set $steps (i32.add (local.get $steps) (i32.const 1)))
            (br $c))
            (local.set $steps (i32.add (local.get $steps) (i32.const 10))))
          (local.set $x (i32.sub (local.get $x) (i32.const 1)))
          (br_if $again (i32.gt_s (local.get $x) (i32.const 0))))))
    (select (result i32) (local.get $steps) (i32.const -1) (i32.const 1)))

  ;; calls through the table, ref.func, ref.is_null, table ops
  (func $indirect (export "indirect") (param i32) (result i32)
    (drop (ref.is_null (ref.func $sum)))
    (drop (table.size $t))
    (table.set $refs (i32.const 0) (ref.null extern))
    (drop (ref.is_null (table.get $refs (i32.const 0))))
    (drop (table.grow $t (ref.func $fib) (i32.const 1)))
    (table.fill $t (i32.const 5) (global.get $fref) (i32.const 1))
    (table.init $t 1 (i32.const 6) (i32.const 0) (i32.const 1))
    (elem.drop 1)
    (table.copy $t $t (i32.const 7) (i32.const 0) (i32.const 1))
    (call_indirect $t (type $binop) (local.get 0) (i32.const 2) (i32.const 3))
    (drop)
    (call_indirect $t (param i32) (result i32) (local.get 0) (i32.const 5)))

  ;; bulk memory, saturating conversions, sign extension, loads and stores
  (func $memory (export "memory_ops") (result i32)
    (memory.init $d (i32.const 16) (i32.const 0) (i32.const 12))
    (data.drop $d)
    (memory.copy (i32.const 32) (i32.const 16) (i32.const 12))
    (memory.fill (i32.const 64) (i32.const 7) (i32.const 4))
    (i64.store offset=128 align=4 (i32.const 0) (i64.const -123456789012))
    (drop (i32.trunc_sat_f64_s (f64.const 1e300)))
    (drop (i64.extend32_s (i64.const 0xffffffff)))
    (drop (f32.const 1.5))
    (drop (memory.grow (i32.const 0)))
    (drop (memory.size))
    (i32.add (i32.load8_u offset=32 (i32.const 0)) (global.get $imported)))

  ;; SIMD
  (func $simd (export "simd") (result i32)
    (local $v v128)
    (local.set $v (v128.const i32x4 1 2 3 4))
    (local.set $v (i32x4.add (local.get $v) (v128.load offset=16 align=4 (i32.const 0))))
    (local.set $v (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 (local.get $v) (local.get $v)))
    (local.set $v (v128.load32_lane 1 (i32.const 0) (local.get $v)))
    (v128.store64_lane 0 (i32.const 48) (local.get $v))
    (local.set $v (v128.load64_zero (i32.const 0)))
    (i32x4.extract_lane 2 (i32x4.replace_lane 2 (local.get $v) (i32.const 9))))
)
