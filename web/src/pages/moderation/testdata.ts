// Canned API objects for the moderation tests.
import type { Comment, Video } from '../../api/client';
import type { TargetReport } from './shared';

export const now = new Date().toISOString();
export const daysAgo = (n: number) => new Date(Date.now() - n * 86400_000).toISOString();

export const moderator = { id: 'u1', username: 'mod', displayName: 'Mod', role: 'moderator', createdAt: now };

export function video(id: string, title: string, extra: Partial<Video> = {}): Video {
  return {
    id,
    title,
    description: '',
    tags: [],
    visibility: 'public',
    status: 'ready',
    owner: { username: 'ann', displayName: 'Ann' },
    stats: { views: 0, likes: 0, dislikes: 0, comments: 0 },
    createdAt: now,
    updatedAt: now,
    ...extra,
  };
}

export function comment(id: string, body: string, extra: Partial<Comment> = {}): Comment {
  return {
    id,
    videoId: 'vidAAAAAAAA',
    author: { username: 'bea', displayName: 'Bea' },
    body,
    createdAt: now,
    updatedAt: now,
    edited: false,
    replyCount: 0,
    ...extra,
  };
}

/** Reports of one target: an established GitHub user with a good record, a newcomer on a shared network, a deleted account. */
export const targetReports: TargetReport[] = [
  {
    id: '3',
    reason: 'spam',
    note: 'posted everywhere',
    createdAt: now,
    weight: 1.5,
    sameNetwork: 0,
    reporter: {
      deleted: false,
      username: 'carl',
      displayName: 'Carl',
      accountCreatedAt: daysAgo(400),
      newAccount: false,
      github: true,
      upheld: 4,
      rejected: 1,
    },
  },
  {
    id: '2',
    reason: 'hate',
    createdAt: now,
    weight: 0.25,
    sameNetwork: 2,
    reporter: {
      deleted: false,
      username: 'dora',
      displayName: 'Dora',
      accountCreatedAt: daysAgo(0.1),
      newAccount: true,
      github: false,
      upheld: 0,
      rejected: 0,
    },
  },
  {
    id: '1',
    reason: 'other',
    createdAt: now,
    weight: 0,
    sameNetwork: 0,
    reporter: { deleted: true, newAccount: false, github: false, upheld: 0, rejected: 0 },
  },
];

export interface Call {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
}

/** record turns a request into a Call: method, path, query and JSON body. */
export async function record(req: Request, path: string): Promise<Call> {
  const body = req.method === 'POST' ? await req.json() : undefined;
  return { method: req.method, path, query: Object.fromEntries(new URL(req.url).searchParams), body };
}
