// A local stand-in for GitHub's OAuth web flow and its /user API — GitHub's servers cannot be
// reached from the test — speaking the same protocol: the authorize page redirects back with a
// code and the state, the token endpoint trades the code (and the app's credentials) for a
// bearer token, and GET /user answers for that token.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

/**
 * startFakeGitHub serves the flow for one GitHub user on 127.0.0.1 and resolves to its base URL,
 * the URLs `sunomi dev --github-*` takes, and close().
 */
export async function startFakeGitHub({ clientId, clientSecret, user }) {
  const codes = new Map(); // code → redirect_uri it was issued for
  const tokens = new Set();
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://localhost');
    const send = (status, body, type = 'application/json') => {
      res.writeHead(status, { 'Content-Type': type });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    try {
      if (req.method === 'GET' && url.pathname === '/login/oauth/authorize') {
        const redirect = url.searchParams.get('redirect_uri');
        if (url.searchParams.get('client_id') !== clientId || !redirect) return send(400, 'unknown client or no redirect_uri', 'text/plain');
        // GitHub asks the user first; so does this page, with one button.
        const q = new URLSearchParams({ redirect_uri: redirect, state: url.searchParams.get('state') ?? '' });
        return send(
          200,
          `<!doctype html><title>Authorize</title><form method="post" action="/login/oauth/authorize/decide?${q}"><button>Authorize Sunomi</button></form>`,
          'text/html',
        );
      }
      if (req.method === 'POST' && url.pathname === '/login/oauth/authorize/decide') {
        const code = randomBytes(10).toString('hex');
        const back = new URL(url.searchParams.get('redirect_uri'));
        codes.set(code, back.toString());
        back.searchParams.set('code', code);
        back.searchParams.set('state', url.searchParams.get('state'));
        res.writeHead(302, { Location: back.toString() });
        return res.end();
      }
      if (req.method === 'POST' && url.pathname === '/login/oauth/access_token') {
        const form = new URLSearchParams(await body(req));
        // Client credentials arrive as HTTP Basic or as form fields; GitHub takes both.
        let [id, secret] = [form.get('client_id'), form.get('client_secret')];
        const basic = req.headers.authorization?.match(/^Basic (.+)$/)?.[1];
        if (basic) [id, secret] = Buffer.from(basic, 'base64').toString().split(':').map(decodeURIComponent);
        const code = form.get('code');
        if (id !== clientId || secret !== clientSecret) return send(401, { error: 'incorrect_client_credentials' });
        const redirect = form.get('redirect_uri');
        if (!codes.has(code) || (redirect && codes.get(code) !== redirect)) return send(200, { error: 'bad_verification_code' });
        codes.delete(code); // single use, as GitHub's
        const token = `gho_${randomBytes(16).toString('hex')}`;
        tokens.add(token);
        return send(200, { access_token: token, token_type: 'bearer', scope: 'read:user' });
      }
      if (req.method === 'GET' && url.pathname === '/user') {
        const token = req.headers.authorization?.match(/^(?:Bearer|token) (.+)$/i)?.[1];
        if (!tokens.has(token)) return send(401, { message: 'Bad credentials' });
        return send(200, user);
      }
      send(404, { message: 'Not Found' });
    } catch (e) {
      send(500, { message: e.message });
    }
  });
  await new Promise((res) => server.listen(0, '127.0.0.1', res));
  const base = `http://127.0.0.1:${server.address().port}`;
  return {
    flags: [
      '--github-client-id',
      clientId,
      '--github-client-secret',
      clientSecret,
      '--github-auth-url',
      `${base}/login/oauth/authorize`,
      '--github-token-url',
      `${base}/login/oauth/access_token`,
      '--github-api-url',
      base,
    ],
    close: () => new Promise((res) => server.close(res)),
  };
}

function body(req) {
  return new Promise((res, rej) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (data += c));
    req.on('end', () => res(data));
    req.on('error', rej);
  });
}
