package replica

import (
	"context"
	"errors"
	"fmt"

	"minibase/engine/value"
)

// Defaults and bounds of one sync round.
const (
	DefaultBatch     = 500 // changes per push
	DefaultPullLimit = 500 // changes per pull page
	maxRounds        = 1_000_000
)

// Client runs whole sync rounds over a Transport: the Go driver of the
// Replica steps (the JS API drives the same steps through the bridge).
type Client struct {
	Replica   *Replica
	Transport Transport
	Batch     int // changes per push; DefaultBatch when 0 (at most 1000)
	PullLimit int // changes per pull page; DefaultPullLimit when 0
	// Merge settles conflicts under the Custom policy: (local, remote,
	// base) → merged row (null deletes). Without it they wait in Conflicts.
	Merge func(local, remote, base value.Value) (value.Value, error)
	// Progress is told the number of changes pulled so far in this round.
	Progress func(pulled int)
}

// Sync pushes every pending change in order, then pulls everything after
// the cursor, page by page. The report sums every step. On error the steps
// already done stay done; calling Sync again continues.
func (c *Client) Sync(ctx context.Context) (Report, error) {
	var rep Report
	batch := c.Batch
	if batch <= 0 {
		batch = DefaultBatch
	}
	if err := c.push(ctx, batch, &rep); err != nil {
		return rep, err
	}
	if err := c.pull(ctx, &rep); err != nil {
		return rep, err
	}
	if c.Merge != nil {
		n, err := c.merge()
		if err != nil {
			return rep, err
		}
		if n > 0 { // merged rows are new changes: send them now
			if err := c.push(ctx, batch, &rep); err != nil {
				return rep, err
			}
		}
	}
	return rep, nil
}

func (c *Client) push(ctx context.Context, batch int, rep *Report) error {
	for range maxRounds {
		req, err := c.Replica.NextPush(batch)
		if err != nil {
			return err
		}
		if len(req.Changes) == 0 {
			return nil
		}
		resp, err := c.Transport.Push(ctx, req)
		var serr *ServerError
		if errors.As(err, &serr) && serr.Status == 422 && (serr.Code == CodeValidation || serr.Code == CodeClockAhead) {
			if err := c.Replica.Reject(req, serr); err != nil {
				return err
			}
			rep.DeadLettered++
			continue
		}
		if err != nil {
			return err
		}
		r, err := c.Replica.AckPush(resp)
		rep.add(r)
		if err != nil {
			return err
		}
		if len(resp.Results) == 0 {
			return fmt.Errorf("sync: the server answered a push of %d changes with no results", len(req.Changes))
		}
	}
	return errors.New("sync: push did not finish")
}

func (c *Client) pull(ctx context.Context, rep *Report) error {
	limit := c.PullLimit
	if limit <= 0 {
		limit = DefaultPullLimit
	}
	resynced := false
	for range maxRounds {
		since, err := c.Replica.Cursor()
		if err != nil {
			return err
		}
		resp, err := c.Transport.Pull(ctx, since, limit)
		var serr *ServerError
		if errors.As(err, &serr) && serr.Status == 410 && serr.Code == CodeResyncRequired && !resynced {
			resynced = true
			if err := c.Replica.BeginResync(); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		r, err := c.Replica.ApplyPull(resp)
		rep.add(r)
		if err != nil {
			return err
		}
		if c.Progress != nil && len(resp.Changes) > 0 {
			c.Progress(rep.Pulled)
		}
		if !resp.More {
			if c.Replica.Resyncing() {
				r, err := c.Replica.FinishResync()
				rep.add(r)
				return err
			}
			return nil
		}
	}
	return errors.New("sync: pull did not finish")
}

// merge settles every waiting conflict with c.Merge.
func (c *Client) merge() (int, error) {
	cs, err := c.Replica.Conflicts()
	if err != nil {
		return 0, err
	}
	for _, e := range cs {
		merged, err := c.Merge(e.Row, e.Note, e.Base)
		if err != nil {
			return 0, err
		}
		if err := c.Replica.Resolve(e.Seq, merged); err != nil {
			return 0, err
		}
	}
	return len(cs), nil
}

// Pull pulls without pushing first (a realtime notice while a push is
// failing, say); local unacknowledged changes meet what arrives through the
// conflict policy.
func (c *Client) Pull(ctx context.Context) (Report, error) {
	var rep Report
	err := c.pull(ctx, &rep)
	return rep, err
}
