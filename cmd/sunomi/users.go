package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/sunomi/sunomi/api/store"
	"github.com/sunomi/sunomi/internal/cli"
)

// roles are the roles set-role grants, in order of power.
var roles = []string{store.RoleUser, store.RoleModerator, store.RoleAdmin}

// usersTimeout bounds connecting to the database and migrating it.
const usersTimeout = time.Minute

func newUsersCmd() *cobra.Command {
	var databaseURL string
	cmd := &cobra.Command{
		Use:   "users",
		Short: "Manage the accounts of the API's database",
	}
	cmd.PersistentFlags().StringVar(&databaseURL, "database-url", "", "PostgreSQL URL of the API's database (default $DATABASE_URL)")
	cli.BindEnv(cmd.PersistentFlags(), "database-url", "DATABASE_URL")
	cmd.PersistentPreRunE = cli.ApplyEnvPreRun
	cmd.AddCommand(newUsersSetRoleCmd(&databaseURL))
	return cmd
}

func newUsersSetRoleCmd(databaseURL *string) *cobra.Command {
	return &cobra.Command{
		Use:   "set-role USERNAME user|moderator|admin",
		Short: "Give an account a role: user, moderator (may act on other users' content) or admin",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			username, role := args[0], args[1]
			if !slices.Contains(roles, role) {
				return fmt.Errorf("unknown role %q: use user, moderator or admin", role)
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), usersTimeout)
			defer cancel()
			db, err := openDatabase(ctx, *databaseURL)
			if err != nil {
				return err
			}
			defer db.Close()
			before, after, err := db.ChangeRole(ctx, username, role, operatorName())
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("no user named %q", username)
			}
			if err != nil {
				return err
			}
			if before.Role == after.Role {
				fmt.Fprintf(cmd.OutOrStdout(), "%s is already %s\n", after.Username, article(after.Role))
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s is now %s (was %s)\n", after.Username, article(after.Role), article(before.Role))
			return nil
		},
	}
}

// openDatabase connects to the API's database and brings its schema up to date, as the API
// does at start-up: the command may run before any API has.
func openDatabase(ctx context.Context, url string) (*store.Store, error) {
	if url == "" {
		return nil, errors.New("no database: pass --database-url postgres://… or set DATABASE_URL")
	}
	db, err := store.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	// Applied migrations are news for the log, not for this command's one line of output.
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := db.Migrate(ctx, log); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// operatorName is who the audit log says changed a role: the operating-system account that ran
// the command, as the operator has no account of the platform to name.
func operatorName() string {
	if u, err := user.Current(); err == nil {
		return "operator " + u.Username
	}
	return "operator"
}

// article puts "a" or "an" before a role.
func article(role string) string {
	if role == store.RoleAdmin {
		return "an " + role
	}
	return "a " + role
}
