import { createContext, useContext, useEffect, useMemo, useSyncExternalStore, type ReactNode } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useNavigate } from 'react-router-dom';
import { api, getToken, onTokenChange, setToken, unwrap, type User } from './api/client';

interface Auth {
  token: string | null;
  user: User | undefined;
  loading: boolean;
  signIn: (token: string) => void;
  signOut: () => void;
}

const AuthContext = createContext<Auth | null>(null);

/** takeFragment reads `#token=…` or `#error=…` left by the GitHub callback, and clears it. */
export function takeFragment(hash: string): { token?: string; error?: string } {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const token = params.get('token') ?? undefined;
  const error = params.get('error') ?? undefined;
  return { token, error };
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const token = useSyncExternalStore(onTokenChange, getToken, () => null);
  const qc = useQueryClient();
  const me = useQuery({
    queryKey: ['me', token],
    queryFn: async () => unwrap(await api.GET('/auth/me')),
    enabled: !!token,
    staleTime: 60_000,
    retry: false,
  });
  useEffect(() => {
    // Everything cached was fetched as someone else.
    qc.invalidateQueries({ predicate: (q) => q.queryKey[0] !== 'me' });
  }, [token, qc]);
  const value = useMemo<Auth>(
    () => ({
      token,
      user: token ? me.data : undefined,
      loading: !!token && me.isLoading,
      signIn: (t) => setToken(t),
      signOut: () => setToken(null),
    }),
    [token, me.data, me.isLoading],
  );
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
