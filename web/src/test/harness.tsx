// Shared scaffolding for the component and page tests: canned JSON answers, a fetch stub that
// hands each test a Request, and rendering inside the providers App.tsx mounts.
import type { ReactElement } from 'react';
import { cleanup, render } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { MemoryRouter } from 'react-router-dom';
import { afterEach, beforeEach, vi } from 'vitest';
import { setToken } from '../api/client';
import { AuthProvider } from '../auth';

/** json is a Response carrying body as JSON, with the given status (200 unless told). */
export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

/**
 * stubFetch replaces the global fetch (undo with vi.unstubAllGlobals) with a mock that turns its
 * arguments into a Request, relative URLs against http://localhost, and lets answer reply to it;
 * path is the request URL's pathname. It returns the mock, should a test want its calls.
 */
export function stubFetch(answer: (req: Request, path: string) => Response | Promise<Response>) {
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = input instanceof Request ? input : new Request(new URL(String(input), 'http://localhost'), init);
    return answer(req, new URL(req.url).pathname);
  });
  vi.stubGlobal('fetch', fetchMock);
  return fetchMock;
}

/**
 * renderPage renders ui inside a fresh QueryClient that never retries, an AuthProvider (left out
 * with auth: false, for components that do not use it) and a MemoryRouter at path. It returns
 * what render returns, plus the QueryClient.
 */
export function renderPage(ui: ReactElement, path = '/', { auth = true }: { auth?: boolean } = {}) {
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  const routed = <MemoryRouter initialEntries={[path]}>{ui}</MemoryRouter>;
  const result = render(<QueryClientProvider client={queryClient}>{auth ? <AuthProvider>{routed}</AuthProvider> : routed}</QueryClientProvider>);
  return Object.assign(result, { queryClient });
}

/**
 * signedInDuringEachTest gives every test of the file a token, and afterwards unmounts the page
 * (before signing out, which would re-render it) and undoes the stubs.
 */
export function signedInDuringEachTest() {
  beforeEach(() => setToken('t0k3n'));
  afterEach(() => {
    cleanup();
    setToken(null);
    vi.unstubAllGlobals();
  });
}
