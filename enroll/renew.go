package enroll

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// Run keeps the certificate fresh until ctx ends, when it returns nil. It
// enrolls first if the agent has no certificate yet, and returns that
// error if enrollment fails. Each certificate is renewed with a new key
// at RenewFraction (±10%) of its lifetime; a failed renewal is retried
// with backoff, and once the certificate has expired each retry also
// tries the join token.
func (a *Agent) Run(ctx context.Context) error {
	if a.cur.Load() == nil {
		if err := a.Enroll(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
	for {
		cur := a.cur.Load()
		from := cur.cert.Leaf.NotBefore
		if cur.received.After(from) {
			from = cur.received
		}
		jitter := rand.Float64()*0.2 - 0.1
		if sleep(ctx, renewDelay(from, cur.cert.Leaf.NotAfter, a.now(), a.fraction, jitter)) != nil {
			return nil
		}
		if a.renew(ctx) != nil {
			return nil
		}
	}
}

// renewDelay returns how long from now until a certificate held from
// notBefore (the later of its NotBefore and when it arrived) to notAfter is
// due for renewal: fraction of that time, scaled by 1+jitter; zero if that
// is past.
func renewDelay(notBefore, notAfter, now time.Time, fraction, jitter float64) time.Duration {
	life := notAfter.Sub(notBefore)
	due := notBefore.Add(time.Duration(float64(life) * fraction * (1 + jitter)))
	return max(due.Sub(now), 0)
}

// renew replaces the current certificate, retrying with backoff until it
// succeeds (nil) or ctx ends (ctx's error).
func (a *Agent) renew(ctx context.Context) error {
	for n := 0; ; n++ {
		addr := a.nextAddr()
		err := a.renewOnce(ctx, addr)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if a.now().Before(a.NotAfter()) {
			a.log.WarnContext(ctx, "renew certificate failed, will retry", "addr", addr,
				"not_after", a.NotAfter(), "err", err)
		} else if a.rejoin(ctx, addr, err) == nil {
			return nil
		}
		if err := sleep(ctx, a.retry.after(n)); err != nil {
			return err
		}
	}
}

// rejoin tries the join token after renewal of an expired certificate
// failed with renewErr.
func (a *Agent) rejoin(ctx context.Context, addr string, renewErr error) error {
	a.log.ErrorContext(ctx, "certificate expired and renewal keeps failing; trying the join token again",
		"id", a.ID().String(), "not_after", a.NotAfter(), "addr", addr, "renew_err", renewErr)
	err := a.enrollOnce(ctx, addr)
	if err != nil {
		a.log.ErrorContext(ctx, "enroll with the join token after expiry failed, will retry", "addr", addr, "err", err)
	}
	return err
}

// renewOnce asks addr for a new certificate for the current identity,
// authenticated by the current certificate.
func (a *Agent) renewOnce(ctx context.Context, addr string) error {
	old := a.cur.Load()
	key, csr, err := newKeyAndCSR(old.id)
	if err != nil {
		return err
	}
	check := new(peerCheck)
	resp, err := callSign(ctx, addr, a.mtlsConfig(check), check, &SignRequest{CSR: csr})
	if err != nil {
		return err
	}
	s, err := a.install(resp, key, func(id spiffeid.ID) error {
		if id != old.id {
			return fmt.Errorf("renewed certificate is for %s, want %s", id, old.id)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("renew at %s: %w", addr, err)
	}
	a.log.InfoContext(ctx, "renewed certificate", "id", s.id.String(), "not_after", s.cert.Leaf.NotAfter, "addr", addr)
	return nil
}
