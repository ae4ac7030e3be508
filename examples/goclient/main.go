// Command goclient is riptide-poold from Go: links, a price, an article, a
// lease, an event.
//
//	go run ./examples/goclient 127.0.0.1:50051
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/riptidecrawler/riptide-poold/client"
	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
)

const page, url = `<title>Tide tables</title><p>High water at 06:12, $12.50 a copy.</p><a href=/north>North</a> <a href=south.html>South</a>`, "https://tides.example.com/today/"

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := run(ctx, os.Args[1], os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, target string, w io.Writer) error {
	c, err := client.New(ctx, target)
	if err != nil {
		return err
	}
	defer c.Close()
	doc := client.HTML(page, url)
	links, err := c.CSS(ctx, doc, client.CSS{Selector: "a", Attribute: "href", All: true})
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "links:", links.Values[0], links.Values[1])
	price, err := c.Regex(ctx, doc, client.Regex{Pattern: `\$(?P<amount>[0-9.]+)`})
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "price:", price.Matches[0].Named["amount"])
	article, err := c.Article(ctx, doc, "full")
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "article:", article.Title, article.Links[0].URL, article.Links[1].URL)
	lease, err := c.Lease(ctx, "css", 0)
	if err != nil {
		return err
	}
	defer lease.Close()
	title, err := lease.CSS(ctx, doc, client.CSS{Selector: "title"})
	if err != nil {
		return err
	}
	from := "from another"
	if title.InstanceID == lease.InstanceID {
		from = "from the leased instance"
	}
	fmt.Fprintln(w, "lease:", title.Values[0], from)
	time.AfterFunc(200*time.Millisecond, func() { c.CSS(ctx, doc, client.CSS{Selector: "p"}) }) // a checkout for the subscription below to see
	for ev, err := range c.Events(ctx, client.EventFilter{Kinds: []poolv1.EventKind{poolv1.EventKind_EVENT_KIND_INSTANCE_CHECKED_OUT}, Pools: []string{"css"}}) {
		if err != nil {
			return err
		}
		m := ev.ProtoReflect()
		fmt.Fprintln(w, "event:", m.WhichOneof(m.Descriptor().Oneofs().ByName("kind")).Name())
		break
	}
	return nil
}
