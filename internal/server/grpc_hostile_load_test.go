package server_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
)

// BenchmarkCSSBesideHostile measures the css throughput of 8 well-behaved
// callers (every a[href]@href of the median corpus page, as docs/LOAD.md's
// css rows) alone (hostile=0) and beside 4 hostile callers (hostile=4),
// each of which sends issue 14's selector, div:has(div:has(div:has(span)))
// on 500 nested divs, with a 1 s deadline, again as soon as it has its
// answer. ns/op is per well-behaved call; the ratio of the two rows is the
// figure of docs/LOAD.md. Run each row in its own process (-bench
// 'CSSBesideHostile/hostile=0$'): a daemon without work limits never
// stops the hostile work, which would slow the rows after it.
func BenchmarkCSSBesideHostile(b *testing.B) {
	for _, hostile := range []int{0, 4} {
		b.Run("hostile="+string(rune('0'+hostile)), func(b *testing.B) {
			h := newGRPCHarness(b, grpcOptions{network: "tcp"})
			good := &poolv1.ExtractRequest{Document: htmlDoc(medianPage(b).Source),
				Spec: cssReq(&poolv1.CssSpec{Selector: "a[href]", Attribute: "href", All: true})}
			bad := &poolv1.ExtractRequest{
				Document: htmlDoc(strings.Repeat("<div>", 500) + "<span>x</span>" + strings.Repeat("</div>", 500)),
				Spec:     cssReq(&poolv1.CssSpec{Selector: "div:has(div:has(div:has(span)))", All: true})}

			stop := make(chan struct{})
			var wg sync.WaitGroup
			for range hostile {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-stop:
							return
						default:
						}
						ctx, cancel := context.WithTimeout(context.Background(), time.Second)
						h.client.Extract(ctx, bad) // refused, or DEADLINE_EXCEEDED
						cancel()
					}
				}()
			}
			// Let the hostile callers reach their steady state.
			time.Sleep(500 * time.Millisecond)

			const callers = 8
			var next sync.Mutex
			left := b.N
			b.ResetTimer()
			var run sync.WaitGroup
			for range callers {
				run.Add(1)
				go func() {
					defer run.Done()
					for {
						next.Lock()
						if left == 0 {
							next.Unlock()
							return
						}
						left--
						next.Unlock()
						if _, err := h.client.Extract(context.Background(), good); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			run.Wait()
			b.StopTimer()
			close(stop)
			wg.Wait()
		})
	}
}
