;; A module with no sections: the pass adds every one it needs.
(module)
