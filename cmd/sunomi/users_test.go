package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/sunomi/sunomi/api/store"
	"github.com/sunomi/sunomi/internal/pgtest"
)

// runCLI runs the command line in this process and returns what it printed and its error.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCmd()
	cmd.SetArgs(args)
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	err := cmd.ExecuteContext(t.Context())
	return out.String(), err
}

func TestUsersSetRole(t *testing.T) {
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	db, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateUser(ctx, store.User{Username: "alice", DisplayName: "Alice"}); err != nil {
		t.Fatal(err)
	}

	// In order: each case starts from the role the one before left.
	tests := []struct {
		name     string
		args     []string
		wantOut  string
		wantErr  string
		wantRole string // alice's role afterwards
	}{
		{"moderator", []string{"alice", "moderator"}, "alice is now a moderator (was a user)\n", "", store.RoleModerator},
		{"admin", []string{"alice", "admin"}, "alice is now an admin (was a moderator)\n", "", store.RoleAdmin},
		{"same role again", []string{"alice", "admin"}, "alice is already an admin\n", "", store.RoleAdmin},
		{"back to user", []string{"alice", "user"}, "alice is now a user (was an admin)\n", "", store.RoleUser},
		{"unknown user", []string{"bob", "admin"}, "", `no user named "bob"`, store.RoleUser},
		{"invalid role", []string{"alice", "root"}, "", `unknown role "root": use user, moderator or admin`, store.RoleUser},
		{"role in capitals", []string{"alice", "Admin"}, "", `unknown role "Admin"`, store.RoleUser},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"users", "set-role"}, tt.args...)
			out, err := runCLI(t, append(args, "--database-url", url)...)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("error %q, want none", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one saying %q", err, tt.wantErr)
			case err != nil && strings.Contains(err.Error(), "\n"):
				t.Errorf("error %q spans several lines, want one", err)
			}
			if out != tt.wantOut {
				t.Errorf("output %q, want %q", out, tt.wantOut)
			}
			u, err := db.UserByUsername(ctx, "alice")
			if err != nil {
				t.Fatal(err)
			}
			if u.Role != tt.wantRole {
				t.Errorf("alice's role is %q, want %q", u.Role, tt.wantRole)
			}
		})
	}

	// Each change is in the audit log, newest first, by the operator; the same role again is
	// no change.
	entries, err := db.Audit(ctx, store.AuditFilter{Action: store.ActionSetRole}, nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range entries {
		if a.Subject != "alice" || a.VideoID != "" || !strings.HasPrefix(a.Moderator, "operator") {
			t.Errorf("audit entry %+v, want alice's, by the operator, about no video", a)
		}
		got = append(got, a.Note)
	}
	if want := []string{"admin → user", "moderator → admin", "user → moderator"}; strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("role changes in the audit log = %q, want %q", got, want)
	}
}

// TestUsersSetRoleMigratesFirst runs the command on a database no API has touched yet: it must
// create the schema and then not find the user, rather than fail on a missing table.
func TestUsersSetRoleMigratesFirst(t *testing.T) {
	url := pgtest.NewDatabase(t)
	t.Setenv("DATABASE_URL", url) // the default of --database-url
	_, err := runCLI(t, "users", "set-role", "carol", "moderator")
	if err == nil || err.Error() != `no user named "carol"` {
		t.Fatalf("error %v, want: no user named \"carol\"", err)
	}
}

func TestUsersSetRoleNeedsADatabase(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	_, err := runCLI(t, "users", "set-role", "alice", "admin")
	if err == nil || !strings.Contains(err.Error(), "DATABASE_URL") {
		t.Fatalf("error %v, want one naming DATABASE_URL", err)
	}
	_, err = runCLI(t, "users", "set-role", "alice")
	if err == nil || !strings.Contains(err.Error(), "accepts 2 arg(s)") {
		t.Fatalf("error %v, want one about the arguments", err)
	}
}
