package ctl

import (
	"context"
	"encoding/json"
	"io"
	"time"
)

// runGet: get <kind> [name].
func runGet(ctx context.Context, s *session, args []string) error {
	if len(args) < 1 || len(args) > 2 {
		return usageErrorf("get takes a kind and an optional name")
	}
	k, err := kindOf(args[0])
	if err != nil {
		return err
	}
	name := ""
	if len(args) == 2 {
		name = args[1]
	}
	return s.show(ctx, k, name)
}

// show fetches and prints objects of kind k (or the one named name).
func (s *session) show(ctx context.Context, k *kind, name string) error {
	f, err := k.fetch(ctx, s.client, name)
	if err != nil {
		return err
	}
	if s.output != "table" {
		return s.printDoc(f.doc)
	}
	return s.printItems(k, f)
}

func (s *session) printItems(k *kind, f fetched) error {
	if len(f.items) == 0 {
		s.notef("No %s found.", k.plural)
		return nil
	}
	return writeTable(s.stdout, k, f.items, s.now())
}

// writeTable prints items as k's table.
func writeTable(w io.Writer, k *kind, items []json.RawMessage, now time.Time) error {
	rows := make([][]string, 0, len(items))
	for _, it := range items {
		row, err := k.row(it, now)
		if err != nil {
			return err
		}
		rows = append(rows, row)
	}
	return printTable(w, k.header, rows)
}
