package jointoken

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var ctx = context.Background()

// create makes a token, failing the test on error.
func create(t *testing.T, m *Manager, tok Token) (string, Token) {
	t.Helper()
	secret, got, err := m.Create(ctx, tok)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return secret, got
}

// errIs names the sentinel err wraps, "" for nil.
func errIs(err error) string {
	for _, e := range []error{ErrInvalid, ErrExpired, ErrUsedUp, ErrNotFound, ErrBadFields} {
		if errors.Is(err, e) {
			return e.Error()
		}
	}
	if err != nil {
		return "unexpected: " + err.Error()
	}
	return ""
}

func TestCreate(t *testing.T) {
	clock := newFakeClock()
	st := newStore(t)
	m := New(st, clock.Now)
	now := clock.Now()
	tests := []struct {
		name string
		in   Token
		want Token
	}{
		{"join", Token{Kind: Join, Service: "web", Namespace: "default"},
			Token{Kind: Join, Service: "web", Namespace: "default", Created: now}},
		{"admin, limited", Token{Kind: Admin, MaxUses: 3, Expires: now.Add(time.Hour), Description: "ci"},
			Token{Kind: Admin, MaxUses: 3, Expires: now.Add(time.Hour), Created: now, Description: "ci"}},
		{"caller's id, uses and created are ignored", Token{ID: "00000000", Kind: Admin, Uses: 7, Created: now.Add(-time.Hour)},
			Token{Kind: Admin, Created: now}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			secret, got, err := m.Create(ctx, tc.in)
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			if !validID(got.ID) || got.ID == tc.in.ID || !strings.HasPrefix(secret, got.ID+".") {
				t.Errorf("got id %q and secret %q, want a fresh 8-hex-digit id that starts the secret", got.ID, secret)
			}
			tc.want.ID = got.ID
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("created token (-want +got):\n%s", diff)
			}
			stored, err := m.Get(ctx, got.ID)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if diff := cmp.Diff(got, stored); diff != "" {
				t.Errorf("stored token (-want +got):\n%s", diff)
			}
			kv, err := st.Get(ctx, keyPrefix+got.ID)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(kv.Value, []byte(secret[idLen+1:])) {
				t.Errorf("the store holds the secret: %s", kv.Value)
			}
		})
	}
}

func TestCreateRefuses(t *testing.T) {
	clock := newFakeClock()
	m := New(newStore(t), clock.Now)
	tests := []struct {
		name    string
		in      Token
		wantErr string
	}{
		{"no kind", Token{}, "kind"},
		{"unknown kind", Token{Kind: "root"}, "kind"},
		{"negative max uses", Token{Kind: Admin, MaxUses: -1}, "max_uses"},
		{"already expired", Token{Kind: Admin, Expires: clock.Now()}, "not in the future"},
		{"admin naming a service", Token{Kind: Admin, Service: "web"}, "admin tokens name no service"},
		{"join without namespace", Token{Kind: Join, Service: "web"}, "namespace"},
		{"join without service", Token{Kind: Join, Namespace: "default"}, "service"},
		{"join with a slash in the service", Token{Kind: Join, Namespace: "default", Service: "a/b"}, "service"},
		{"join with a dot-dot namespace", Token{Kind: Join, Namespace: "..", Service: "web"}, "namespace"},
		{"long description", Token{Kind: Admin, Description: strings.Repeat("x", maxDescription+1)}, "description"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := m.Create(ctx, tc.in)
			if !errors.Is(err, ErrBadFields) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Create: got error %v, want ErrBadFields mentioning %q", err, tc.wantErr)
			}
		})
	}
	if list, err := m.List(ctx); err != nil || len(list) != 0 {
		t.Errorf("List after refused creates: got %v, %v, want nothing", list, err)
	}
}

func TestRedeem(t *testing.T) {
	clock := newFakeClock()
	m := New(newStore(t), clock.Now)
	twice, _ := create(t, m, Token{Kind: Join, Service: "web", Namespace: "default", MaxUses: 2})
	unlimited, _ := create(t, m, Token{Kind: Join, Service: "web", Namespace: "default"})
	expiring, _ := create(t, m, Token{Kind: Join, Service: "web", Namespace: "default", Expires: clock.Now().Add(time.Hour)})
	admin, _ := create(t, m, Token{Kind: Admin})
	wrongSecret := twice[:idLen+1] + strings.Repeat("A", len(twice)-idLen-2) + "A"
	unknownID := "ffffffff" + twice[idLen:]
	tests := []struct {
		name     string
		secret   string
		kind     Kind
		advance  time.Duration
		wantUses int
		wantErr  string
	}{
		{"first use", twice, Join, 0, 1, ""},
		{"wrong kind", twice, Admin, 0, 0, ErrInvalid.Error()},
		{"second use", twice, Join, 0, 2, ""},
		{"used up", twice, Join, 0, 0, ErrUsedUp.Error()},
		{"unlimited", unlimited, Join, 0, 1, ""},
		{"unlimited again", unlimited, Join, 0, 2, ""},
		{"admin token as join", admin, Join, 0, 0, ErrInvalid.Error()},
		{"wrong secret", wrongSecret, Join, 0, 0, ErrInvalid.Error()},
		{"unknown id", unknownID, Join, 0, 0, ErrInvalid.Error()},
		{"malformed", "hello", Join, 0, 0, ErrInvalid.Error()},
		{"empty", "", Join, 0, 0, ErrInvalid.Error()},
		{"before expiry", expiring, Join, 59 * time.Minute, 1, ""},
		{"at expiry", expiring, Join, time.Minute, 0, ErrExpired.Error()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock.Advance(tc.advance)
			got, err := m.Redeem(ctx, tc.secret, tc.kind)
			if diff := cmp.Diff(tc.wantErr, errIs(err)); diff != "" {
				t.Fatalf("Redeem error (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantUses, got.Uses); diff != "" {
				t.Errorf("uses (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRedeemRace(t *testing.T) {
	const redeemers = 8
	m := New(newStore(t), nil)
	secret, tok := create(t, m, Token{Kind: Join, Service: "web", Namespace: "default", MaxUses: 1})
	errs := make([]error, redeemers)
	var wg sync.WaitGroup
	for i := range redeemers {
		wg.Go(func() { _, errs[i] = m.Redeem(ctx, secret, Join) })
	}
	wg.Wait()
	got := map[string]int{}
	for _, err := range errs {
		got[errIs(err)]++
	}
	want := map[string]int{"": 1, ErrUsedUp.Error(): redeemers - 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outcomes of %d racing redeems (-want +got):\n%s", redeemers, diff)
	}
	stored, err := m.Get(ctx, tok.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(1, stored.Uses); diff != "" {
		t.Errorf("stored uses (-want +got):\n%s", diff)
	}
}

func TestListGetRevoke(t *testing.T) {
	m := New(newStore(t), newFakeClock().Now)
	var want []Token
	secrets := map[string]string{}
	for _, svc := range []string{"a", "b", "c"} {
		secret, tok := create(t, m, Token{Kind: Join, Service: svc, Namespace: "default"})
		want = append(want, tok)
		secrets[tok.ID] = secret
	}
	got, err := m.List(ctx)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	slices.SortFunc(want, func(a, b Token) int { return strings.Compare(a.ID, b.ID) })
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("List, by id (-want +got):\n%s", diff)
	}
	gone := want[1].ID
	if err := m.Revoke(ctx, gone); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	tests := []struct {
		name    string
		do      func() error
		wantErr string
	}{
		{"get revoked", func() error { _, err := m.Get(ctx, gone); return err }, ErrNotFound.Error()},
		{"revoke again", func() error { return m.Revoke(ctx, gone) }, ErrNotFound.Error()},
		{"redeem revoked", func() error { _, err := m.Redeem(ctx, secrets[gone], Join); return err }, ErrInvalid.Error()},
		{"get malformed id", func() error { _, err := m.Get(ctx, "../ca/state"); return err }, ErrNotFound.Error()},
		{"revoke malformed id", func() error { return m.Revoke(ctx, "ZZ") }, ErrNotFound.Error()},
		{"get kept", func() error { _, err := m.Get(ctx, want[0].ID); return err }, ""},
		{"redeem kept", func() error { _, err := m.Redeem(ctx, secrets[want[2].ID], Join); return err }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.wantErr, errIs(tc.do())); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
	if got, _ := m.List(ctx); len(got) != 2 {
		t.Errorf("List after revoke: got %d tokens, want 2", len(got))
	}
}
