// What the moderation tabs share: the API's types, paged lists that tell the page when the
// caller is no moderator, and the list frame (loading, error, empty, "More").
import { createContext, useContext, useEffect, type ReactNode } from 'react';
import { Alert, Button, CircularProgress, Stack, Typography } from '@mui/material';
import { useInfiniteQuery, type InfiniteData, type UseInfiniteQueryResult } from '@tanstack/react-query';
import { errorMessage, HttpError } from '../../api/client';
import type { components } from '../../api/schema';

export type ReportQueueItem = components['schemas']['ReportQueueItem'];
export type CommentQueueItem = components['schemas']['CommentQueueItem'];
export type TargetReport = components['schemas']['TargetReport'];
export type AuditEntry = components['schemas']['AuditEntry'];
export type AuditAction = components['schemas']['AuditAction'];

/** Every moderation query's key starts with this, so that a decision refreshes them all. */
export const moderationKey = 'moderation';

/** ForbiddenContext is how a tab tells the page that the API refused the caller (403). */
export const ForbiddenContext = createContext<() => void>(() => {});

interface Paged {
  nextCursor?: string;
}

/**
 * usePaged is an infinite query over a keyset-paged list: fetchPage gets the cursor of the page
 * to read (undefined for the first). A 403 is reported to ForbiddenContext.
 */
export function usePaged<P extends Paged>(key: unknown[], fetchPage: (cursor?: string) => Promise<P>) {
  const onForbidden = useContext(ForbiddenContext);
  const query = useInfiniteQuery({
    queryKey: [moderationKey, ...key],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) => fetchPage(pageParam),
    getNextPageParam: (p) => p.nextCursor,
    retry: false,
  });
  useEffect(() => {
    if (query.error instanceof HttpError && query.error.status === 403) onForbidden();
  }, [query.error, onForbidden]);
  return query;
}

/** PagedList frames a paged list: a spinner while it loads, its error, emptyText, and "More". */
export function PagedList<P>({
  query,
  count,
  emptyText,
  what,
  children,
}: {
  query: UseInfiniteQueryResult<InfiniteData<P>>;
  count: number;
  emptyText: string;
  what: string;
  children: ReactNode;
}) {
  return (
    <Stack spacing={1}>
      {query.isLoading && <CircularProgress aria-label={`Loading ${what}`} />}
      {query.isError && <Alert severity="error">{errorMessage(query.error)}</Alert>}
      {query.isSuccess && count === 0 && <Typography color="text.secondary">{emptyText}</Typography>}
      {children}
      {query.hasNextPage && (
        <Button onClick={() => query.fetchNextPage()} disabled={query.isFetchingNextPage} sx={{ alignSelf: 'start' }}>
          More {what}
        </Button>
      )}
    </Stack>
  );
}
