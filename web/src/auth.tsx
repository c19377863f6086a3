import { createContext, useContext, useEffect, useMemo, useSyncExternalStore, type ReactNode } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useNavigate } from 'react-router-dom';
import { api, unwrap, type Session, type User } from './api/client';
import { endSession, getSubject, getToken, isReady, onTokenChange, setSession } from './api/session';

interface Auth {
  token: string | null;
  user: User | undefined;
  loading: boolean;
  signIn: (session: Session) => void;
  /** signOut ends this browser's session. */
  signOut: () => Promise<void>;
  /** signOutEverywhere ends every session of the user, on every device; it rejects when the server refuses. */
  signOutEverywhere: () => Promise<void>;
}

const AuthContext = createContext<Auth | null>(null);

/**
 * takeFragment reads what the GitHub callback leaves in the URL fragment: a one-time `#code=…`
 * to exchange (it signs in only in the browser that started the sign-in) or `#error=…`. A
 * `#token=…` is not read: a link must never be able to sign anyone in.
 */
export function takeFragment(hash: string): { code?: string; error?: string } {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const code = params.get('code') ?? undefined;
  const error = params.get('error') ?? undefined;
  return { code, error };
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const token = useSyncExternalStore(onTokenChange, getToken, () => null);
  const subject = useSyncExternalStore(onTokenChange, getSubject, () => null);
  const ready = useSyncExternalStore(onTokenChange, isReady, () => true);
  const qc = useQueryClient();
  const me = useQuery({
    queryKey: ['me', subject],
    queryFn: async () => unwrap(await api.GET('/auth/me')),
    enabled: !!token,
    staleTime: 60_000,
    retry: false,
  });
  useEffect(() => {
    // Everything cached was fetched as someone else (a refresh keeps the subject).
    qc.invalidateQueries({ predicate: (q) => q.queryKey[0] !== 'me' });
  }, [subject, qc]);
  const value = useMemo<Auth>(
    () => ({
      token,
      user: token ? me.data : undefined,
      loading: !!token && me.isLoading,
      signIn: (s) => setSession(s),
      signOut: () => endSession(false),
      signOutEverywhere: () => endSession(true),
    }),
    [token, me.data, me.isLoading],
  );
  // While the session is being restored, pages would take the visitor for signed out.
  if (!ready) return null;
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): Auth {
  const a = useContext(AuthContext);
  if (!a) throw new Error('useAuth outside AuthProvider');
  return a;
}

/**
 * Redirect replaces react-router's <Navigate>, whose effect returns navigate()'s promise in
 * react-router 7 and makes React 19 call it as a cleanup ("destroy is not a function").
 */
export function Redirect({ to }: { to: string }) {
  const navigate = useNavigate();
  useEffect(() => {
    void navigate(to, { replace: true });
  }, [navigate, to]);
  return null;
}
