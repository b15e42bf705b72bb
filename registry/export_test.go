package registry

import (
	"context"
	"testing"
)

// ExpireForTest revokes a leadership's session lease, as etcd does when the
// leader falls silent for its TTL.
func ExpireForTest(ctx context.Context, t *testing.T, l *Leadership) {
	t.Helper()
	if _, err := l.sess.Client().Revoke(ctx, l.sess.Lease()); err != nil {
		t.Fatalf("revoke: %v", err)
	}
}
