// Package sample holds the content of the demo's sample sites, so that
// `orchard demo`, the end-to-end tests and the benchmarks start from the
// same, realistic sites.
package sample

import (
	"fmt"
	"strings"
	"time"

	orchard "github.com/orchardhq/orchard"
)

// Hosts of the sample sites. Browsers resolve *.localhost to loopback.
const (
	AlphaHost = "alpha.localhost"
	BlogHost  = "blog.localhost"
)

// epoch anchors every sample date, so sample sites build reproducibly.
var epoch = time.Date(2026, 1, 4, 17, 15, 0, 0, time.UTC)

// Sites returns the sample sites' content, without templates or theme
// (those come from the renderer's defaults when a site is initialised).
func Sites() []*orchard.SiteContent {
	return []*orchard.SiteContent{alpha(), blog()}
}

func alpha() *orchard.SiteContent {
	c := &orchard.SiteContent{Site: orchard.Site{
		Host:        AlphaHost,
		Aliases:     []string{"www.alpha.localhost"},
		Title:       "Alpha Orchards",
		Description: "Apples, pears and cider from a small orchard on the hill.",
	}}
	c.Categories = []orchard.Category{
		{Path: "/news/", Title: "News", Description: "What is happening in the orchard.", Sort: 1},
		{Path: "/varieties/", Title: "Varieties", Description: "The trees we grow and what their fruit is good for.", Sort: 2},
		{Path: "/varieties/apples/", Title: "Apples", Description: "Eating, cooking and cider apples.", Sort: 1},
		{Path: "/varieties/pears/", Title: "Pears", Description: "Dessert and perry pears.", Sort: 2},
		{Path: "/guides/", Title: "Guides", Description: "How we grow, prune and press.", Sort: 3},
	}
	c.Pages = append(c.Pages,
		page("/", "", "Welcome to Alpha Orchards", 0, `We grow **forty varieties** of apples and pears on six acres of south-facing hill.

- Fresh fruit from September to December
- Apple juice and cider all year
- Guided walks through the blossom in April

Read the [news](/news/), browse the [varieties](/varieties/) or learn how we [prune](/guides/winter-pruning/).`),
		page("/about/", "", "About us", 1, "Alpha Orchards has been a family orchard since 1952. We farm without synthetic pesticides and press our own juice in the barn.\n\nFind us at the end of Orchard Lane; the shop is open from Thursday to Sunday."),
		page("/contact/", "", "Contact", 2, "Write to **hello@alpha.localhost** or call in at the shop.\n\n| Day | Hours |\n|---|---|\n| Thursday-Saturday | 9:00-17:00 |\n| Sunday | 10:00-16:00 |"),
	)
	news := []string{"The first blossom of the year", "Frost night: candles in the rows", "Bees are back", "June drop and thinning",
		"Harvest starts with Discovery", "Pressing day in the barn", "New trees for the north slope", "Wassail on twelfth night"}
	for i, t := range news {
		c.Pages = append(c.Pages, post("/news/", t, i, fmt.Sprintf(
			"%s.\n\nThe orchard changes every week, and this is what week %d looked like. We walked every row, counted the trees that needed help and noted how the weather treated them.\n\n## What we saw\n\nMost trees are healthy. A few of the oldest Bramleys need support for their heavy branches, and the young pears on the north slope are growing faster than we hoped.\n\n## What comes next\n\nMore work in the rows, and more news here soon.", t, i+1)))
	}
	apples := []string{"Bramley", "Cox's Orange Pippin", "Discovery", "Egremont Russet", "Kingston Black", "Dabinett", "Worcester Pearmain", "Blenheim Orange"}
	for i, t := range apples {
		c.Pages = append(c.Pages, post("/varieties/apples/", t, 10+i, fmt.Sprintf(
			"**%s** is one of the apples we grow.\n\n| Use | Season | Storage |\n|---|---|---|\n| %s | %s | %d weeks |\n\nIt grows well on our clay soil and crops every year when it is pruned in winter.",
			t, []string{"cooking", "eating", "cider"}[i%3], []string{"September", "October", "November"}[i%3], 2+i)))
	}
	pears := []string{"Conference", "Doyenné du Comice", "Williams' Bon Chrétien", "Blakeney Red"}
	for i, t := range pears {
		c.Pages = append(c.Pages, post("/varieties/pears/", t, 20+i, fmt.Sprintf(
			"**%s** ripens off the tree: pick it hard, keep it cool and bring it into the warm a few days before eating.", t)))
	}
	guides := []string{"Winter pruning", "Grafting a new variety", "Making cider at home", "Storing apples through winter", "Planting a young tree"}
	for i, t := range guides {
		c.Pages = append(c.Pages, post("/guides/", t, 30+i, fmt.Sprintf(
			"A short guide to %s.\n\n1. Choose a dry day.\n2. Gather clean, sharp tools.\n3. Work slowly and step back often.\n\n```\nrule of thumb: remove no more than a quarter of the tree each year\n```\n\nAsk us in the shop if anything is unclear.", strings.ToLower(t))))
	}
	return c
}

func blog() *orchard.SiteContent {
	c := &orchard.SiteContent{Site: orchard.Site{
		Host:        BlogHost,
		Title:       "Pi Cluster Notes",
		Description: "Notes from running websites on a rack of single-board computers.",
	}}
	c.Categories = []orchard.Category{
		{Path: "/cluster/", Title: "Cluster", Description: "Building and running the cluster.", Sort: 1},
		{Path: "/benchmarks/", Title: "Benchmarks", Description: "Measurements, side by side.", Sort: 2},
		{Path: "/notes/", Title: "Notes", Description: "Short notes.", Sort: 3},
	}
	c.Pages = append(c.Pages,
		page("/about/", "", "About this blog", 0, "Four boards, a switch and a balancer in front. This blog is served by the cluster it describes."),
	)
	cluster := []string{"Building the rack", "Static addresses for every node", "A balancer in front", "Publishing without rsync",
		"What happens when a node dies", "Adding a fourth node", "Moving the database to MariaDB", "Watching the cluster"}
	for i, t := range cluster {
		c.Pages = append(c.Pages, post("/cluster/", t, i, fmt.Sprintf(
			"Part %d of the cluster series: %s.\n\nEach node is a small board with an SD card, and each one serves every site. The master builds a release, publishes it to the nodes, and the balancer sends each request to a node that has the newest release.\n\n> Measure, do not guess.\n\nThe next part follows soon.", i+1, strings.ToLower(t))))
	}
	bench := []string{"Transactions per second on one board", "The balancer was the bottleneck", "Edge caching the hot pages", "Publishing 10,000 pages", "Keep-alive and worker counts"}
	for i, t := range bench {
		c.Pages = append(c.Pages, post("/benchmarks/", t, 10+i, fmt.Sprintf(
			"%s.\n\n| Setup | Requests/s | p99 |\n|---|---:|---:|\n| one node | %d | %d ms |\n| three nodes | %d | %d ms |\n\nNumbers from `orchard bench -c 64 -t 30S`, medians of three runs.", t, 400+50*i, 40-i, 1050+200*i, 30-i)))
	}
	for i := 0; i < 12; i++ {
		c.Pages = append(c.Pages, post("/notes/", fmt.Sprintf("Note %d: %s", i+1, []string{"SD cards", "power supplies", "heat", "cables"}[i%4]), 20+i,
			fmt.Sprintf("A short note about %s, written after week %d of running the cluster.", []string{"SD cards", "power supplies", "heat", "cables"}[i%4], i+1)))
	}
	draft := post("/notes/", "Unfinished thoughts", 40, "This draft is not published, so it appears in no release.")
	draft.Published = false
	c.Pages = append(c.Pages, draft)
	return c
}

func page(path, category, title string, n int, body string) orchard.Page {
	at := epoch.Add(time.Duration(n) * 24 * time.Hour)
	return orchard.Page{Path: path, Category: category, Title: title, Body: body, Published: true,
		Description: firstLine(body), Format: orchard.FormatMarkdown, Created: at, Updated: at}
}

func post(category, title string, n int, body string) orchard.Page {
	return page(category+Slug(title)+"/", category, title, n, body)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	s = strings.NewReplacer("*", "", "[", "", "]", "", "`", "").Replace(s)
	if len(s) > 160 {
		s = s[:157] + "..."
	}
	return s
}

// Slug turns a title into a path segment: "Cox's Orange Pippin" -> "coxs-orange-pippin".
func Slug(title string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(title) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case r == '\'' || r == '\u2019':
		case r > 127:
			if s, ok := foldAccents[r]; ok {
				b.WriteString(s)
				dash = false
			}
		default:
			if !dash && b.Len() > 0 {
				b.WriteByte('-')
				dash = true
			}
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

var foldAccents = map[rune]string{'é': "e", 'è': "e", 'ê': "e", 'à': "a", 'ç': "c", 'ô': "o", 'ü': "u", 'ö': "o", 'ä': "a"}
