;; hostcall: spin calls the interruption check n times, for
;; BenchmarkCheckInterrupt. Not a guest: it imports the name the host
;; reserves, and is run outside Load.
(module
  (import "riptide_host" "interrupt" (func $interrupt))
  (func (export "spin") (param $n i32)
    (loop $l
      (call $interrupt)
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))
