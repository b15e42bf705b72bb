package registry

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Roles. With etcd's authentication on, each client is the user its
// certificate's common name names (client-certificate authentication), and
// may do what its roles grant on flota's keys, no more:
//
//   - a machine (role flota-machine-ID) writes its own presence key and its
//     own states, and reads its own placements and the unit files: it can
//     neither place a unit, nor touch another machine's keys;
//   - the engine (flota-engine) reads the cluster and the states, and
//     writes the placements, reasons, notes and moves, the election, and
//     the unit files it collects;
//   - an operator (flota-operator, flotactl) reads and writes everything
//     flota keeps.
//
// The root user (a certificate named "root") manages users and roles.
const (
	RoleEngine   = "flota-engine"
	RoleOperator = "flota-operator"
	roleMachine  = "flota-machine-"
	RootUser     = "root"
)

// RoleMachine is the role of machine id.
func RoleMachine(id string) string { return roleMachine + id }

// permission is one range a role may read or write: a key, or a prefix.
type permission struct {
	key    string
	prefix bool
	write  bool
}

func (r *Registry) rolePermissions(role string) ([]permission, error) {
	k := r.k
	switch {
	case role == RoleOperator:
		return []permission{{k.prefix, true, true}}, nil
	case role == RoleEngine:
		return []permission{
			{k.cluster(), true, false},
			{k.states(), true, false},
			{k.placements(), true, true},
			{k.unplaced(), true, true},
			{k.notes(), true, true},
			{k.moves(), true, true},
			{k.files(), true, true},
			{k.leader(), true, true},
		}, nil
	case strings.HasPrefix(role, roleMachine):
		id := strings.TrimPrefix(role, roleMachine)
		if id == "" || strings.ContainsAny(id, "/ \t\n") {
			return nil, fmt.Errorf("%w: machine role %q", ErrInvalid, role)
		}
		return []permission{
			{k.machine(id), false, true},
			{k.machineStates(id), true, true},
			{k.machinePlacements(id), true, false},
			{k.files(), true, false},
		}, nil
	}
	return nil, fmt.Errorf("%w: role %q: want %s, %s or %sID", ErrInvalid, role, RoleOperator, RoleEngine, roleMachine)
}

// Grant makes user exist (authenticated by its certificate, no password)
// and gives it roles, each made with its permissions if it does not exist.
// Before authentication is on anyone may call it; after, only root.
func (r *Registry) Grant(ctx context.Context, user string, roles ...string) error {
	if user == "" || strings.ContainsAny(user, " /\t\n") {
		return fmt.Errorf("%w: user %q", ErrInvalid, user)
	}
	if err := r.ensureUser(ctx, user); err != nil {
		return err
	}
	for _, role := range roles {
		if err := r.ensureRole(ctx, role); err != nil {
			return err
		}
		if _, err := r.cli.UserGrantRole(ctx, user, role); err != nil {
			return r.wrap("grant role "+role+" to "+user, err)
		}
	}
	return nil
}

func (r *Registry) ensureUser(ctx context.Context, user string) error {
	if _, err := r.cli.UserGet(ctx, user); err == nil {
		return nil
	}
	if _, err := r.cli.UserAddWithOptions(ctx, user, "", &clientv3.UserAddOptions{NoPassword: true}); err != nil {
		return r.wrap("add user "+user, err)
	}
	return nil
}

func (r *Registry) ensureRole(ctx context.Context, role string) error {
	if role == "root" {
		_, err := r.cli.RoleAdd(ctx, role)
		if err != nil && !errors.Is(err, rpctypes.ErrRoleAlreadyExist) {
			return r.wrap("add role root", err)
		}
		return nil
	}
	perms, err := r.rolePermissions(role)
	if err != nil {
		return err
	}
	if _, err := r.cli.RoleGet(ctx, role); err != nil {
		if _, err := r.cli.RoleAdd(ctx, role); err != nil {
			return r.wrap("add role "+role, err)
		}
	}
	for _, p := range perms {
		end := ""
		if p.prefix {
			end = clientv3.GetPrefixRangeEnd(p.key)
		}
		kind := clientv3.PermissionType(clientv3.PermRead)
		if p.write {
			kind = clientv3.PermissionType(clientv3.PermReadWrite)
		}
		if _, err := r.cli.RoleGrantPermission(ctx, role, p.key, end, kind); err != nil {
			return r.wrap("grant "+role+" its keys", err)
		}
	}
	return nil
}

// EnableAuth turns etcd's authentication on: the root user (made root if
// it is not) may then manage users and roles, and every other client only
// what its roles grant.
func (r *Registry) EnableAuth(ctx context.Context) error {
	if err := r.Grant(ctx, RootUser, "root"); err != nil {
		return err
	}
	if _, err := r.cli.AuthEnable(ctx); err != nil {
		return r.wrap("enable etcd's authentication", err)
	}
	return nil
}
