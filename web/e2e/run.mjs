// End-to-end test of the web app against a real `sunomi dev`, driven by playwright-core and
// Debian's chromium (no browser download). It builds nothing: BIN names the sunomi binary (built
// with the app embedded). PostgreSQL comes from DATABASE_URL when set, else sunomi dev's private
// cluster. Screenshots of the main pages land in e2e/screenshots/ (desktop and phone width).
//
//   BIN=../bin/sunomi node e2e/run.mjs     (CHROMIUM=/usr/bin/chromium, KEEP=1 keeps the data dir)
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, chmodSync, mkdirSync, existsSync, createWriteStream, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startFakeGitHub } from './fake-github.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const AXE = readFileSync(join(here, '..', 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
// dash.js, a devDependency loaded into the DASH test page only: the app never bundles it.
const DASHJS = join(here, '..', 'node_modules', 'dashjs', 'dist', 'modern', 'umd', 'dash.all.min.js');
const BIN = process.env.BIN && resolve(process.env.BIN);
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = join(here, 'screenshots');
const OUT = join(here, 'out');
const T = { ready: 240_000, upload: 120_000, transcode: 600_000, ui: 30_000 };
// Access tokens live 30 s in this run, so the app refreshes them silently all along.
const ACCESS_TTL_S = 30;

let step = 'start';
const log = (...a) => console.log(`[e2e ${new Date().toISOString().slice(11, 19)}]`, ...a);
function fail(msg) {
  throw new Error(`${step}: ${msg}`);
}

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
    s.on('error', rej);
  });
}

async function waitFor(what, fn, timeout, every = 500) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, every));
  }
  fail(`timed out after ${timeout / 1000}s waiting for ${what}${last ? ` (last error: ${last.message})` : ''}`);
}

// devDatabaseURL is the PostgreSQL URL sunomi dev uses: DATABASE_URL when the test set one, else
// the private cluster's, which sunomi dev logs as `msg="postgres ready" … url=…` with its
// password masked; the password itself is in the data directory's secrets.json, as an operator
// would read it.
function devDatabaseURL(devLog, dataDir) {
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
  const m = readFileSync(devLog, 'utf8').match(/msg="postgres ready".*?\burl=("(?:[^"\\]|\\.)*"|\S+)/);
  if (!m) fail(`no "postgres ready" line with the database URL in ${devLog}`);
  const masked = m[1].startsWith('"') ? JSON.parse(m[1]) : m[1];
  const { postgresPassword } = JSON.parse(readFileSync(join(dataDir, 'secrets.json'), 'utf8'));
  return masked.replace(':xxxxx@', `:${encodeURIComponent(postgresPassword)}@`);
}

// playingFragment is the first media segment of the level hls.js plays in the SPA's player: a
// .m4s for a CMAF ladder, a .ts for an MPEG-TS one.
function playingFragment(page) {
  return page.evaluate(() => {
    const hls = window.__sunomiHls;
    return hls?.levels?.[Math.max(hls.currentLevel, 0)]?.details?.fragments?.[0]?.relurl ?? '';
  });
}

// audit runs axe-core's WCAG 2.1 A and AA rules on what the page shows and returns one line per
// violation. (Evaluated through the DevTools protocol, which the app's CSP does not restrict.)
async function audit(page) {
  // Let finite transitions settle: a button caught fading in has no contrast to judge.
  await page.evaluate(() =>
    Promise.all(
      document
        .getAnimations()
        .filter((a) => a.effect?.getComputedTiming().endTime !== Infinity)
        .map((a) => a.finished.catch(() => {})),
    ),
  );
  await page.evaluate(AXE);
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.slice(0, 3).map((n) => `${n.target.join(' ')} ${n.html.slice(0, 100)} ${n.any[0]?.message ?? ''}`),
    }));
  });
  return violations.map((v) => `${v.impact} ${v.id}: ${v.help} (${v.targets.join(', ')})`);
}

async function main() {
  if (!BIN || !existsSync(BIN)) fail('set BIN to the sunomi binary (go build -o bin/sunomi ./cmd/sunomi after make web)');
  if (!existsSync(CHROMIUM)) fail(`no chromium at ${CHROMIUM} (apt-get install -y chromium)`);
  mkdirSync(SHOTS, { recursive: true });
  mkdirSync(OUT, { recursive: true });
  const tmp = mkdtempSync(join(tmpdir(), 'sunomi-e2e-'));
  chmodSync(tmp, 0o755); // under root, the private PostgreSQL runs as postgres and must reach it
  const dataDir = join(tmp, 'data');
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;

  step = 'generate clip';
  // A 1280x720 test pattern with a tone, as H.264 and AAC in MP4; extra are more output options.
  const generateClip = (out, seconds, extra = []) =>
    execFileSync('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=1280x720:rate=30',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=440:sample_rate=48000',
      '-t',
      String(seconds),
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-pix_fmt',
      'yuv420p',
      '-c:a',
      'aac',
      '-shortest',
      ...extra,
      out,
    ]);
  const clip = join(tmp, 'clip.mp4');
  // 16 Mbit/s with filler: about 20 MB, so the upload goes in several 5 MiB parts (sunomi dev's --part-size below).
  generateClip(clip, 10, ['-b:v', '16M', '-minrate', '16M', '-maxrate', '16M', '-bufsize', '8M', '-x264-params', 'nal-hrd=cbr']);
  // A short clip for the MPEG-TS ladder, small enough for one PUT.
  const tsClip = join(tmp, 'clip-ts.mp4');
  generateClip(tsClip, 4);

  const avatar = join(tmp, 'avatar.png');
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=96x96', '-frames:v', '1', avatar]);
  const octocat = { id: 583231, login: 'The-Octocat', name: 'The Octocat', avatar_url: 'https://avatars.githubusercontent.com/u/583231?v=4' };
  const github = await startFakeGitHub({ clientId: 'e2e-client', clientSecret: 'e2e-secret', user: octocat });

  step = 'start sunomi dev';
  const devLog = join(OUT, 'sunomi-dev.log');
  const logStream = createWriteStream(devLog);
  let dev;
  let exited = null;
  // startDev starts sunomi dev on the test's data directory, with flags added to the test's own;
  // a restart (stopDev, then startDev) keeps the database, the stored media and the sessions.
  const startDev = (...flags) => {
    exited = null;
    dev = spawn(
      BIN,
      [
        'dev',
        '--http',
        `127.0.0.1:${port}`,
        '--data-dir',
        dataDir,
        '--single-put-limit',
        '5MiB',
        '--part-size',
        '5MiB',
        '--access-token-ttl',
        `${ACCESS_TTL_S}s`,
        ...github.flags,
        ...flags,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    dev.stdout.pipe(logStream, { end: false });
    dev.stderr.pipe(logStream, { end: false });
    dev.on('exit', (code, sig) => (exited = `exit ${code ?? sig}`));
  };
  const stopDev = async () => {
    if (exited) return;
    dev.kill('SIGINT');
    await waitFor('sunomi dev to stop', () => exited, 60_000).catch(() => dev.kill('SIGKILL'));
  };
  const devReady = () =>
    waitFor(
      `${base}/readyz (log: ${devLog})`,
      async () => {
        if (exited) fail(`sunomi dev ended (${exited}); see ${devLog}`);
        return (await fetch(`${base}/readyz`)).status === 204;
      },
      T.ready,
    );
  startDev();
  let browser;
  const openPages = [];
  const errors = [];
  try {
    await devReady();
    log('sunomi dev ready at', base);
    const index = await fetch(`${base}/`);
    if (index.status !== 200) fail(`GET / answered ${index.status}: is the app built into the binary (make web)?`);

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
        '--autoplay-policy=no-user-gesture-required',
      ],
    });
    const newPage = async (ctx) => {
      const page = await ctx.newPage();
      openPages.push(page);
      page.setDefaultTimeout(T.ui);
      page.on('console', (m) => m.type() === 'error' && errors.push(`${page.url()}: ${m.text()}`));
      page.on('pageerror', (e) => errors.push(`${page.url()}: ${e.message}\n${e.stack}`));
      return page;
    };
    const desktop = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await newPage(desktop);
    // Every page the README shows is also checked for accessibility.
    const a11y = [];
    const shot = async (p, name) => {
      for (const v of await audit(p)) a11y.push(`${name}: ${v}`);
      await p.screenshot({ path: join(SHOTS, `${name}.png`) });
    };
    const suffix = Math.random()
      .toString(36)
      .replace(/[^a-z]/g, '')
      .slice(0, 6);
    const user = `e2e_${suffix}`;
    const password = 'correct horse battery';
    const title = `Test pattern ${suffix}`;

    step = 'register';
    await page.goto(`${base}/login?mode=register`);
    await shot(page, 'login-desktop');
    await page.getByLabel('Username').fill(user);
    await page.getByLabel('Display name').fill('E2E Tester');
    await page.getByLabel('Password').fill(password);
    // Every answer of the auth endpoints, and every 401, from here on.
    const refreshes = [];
    const unauthorized = [];
    page.on('response', (r) => {
      const path = new URL(r.url()).pathname;
      if (path === '/api/v1/auth/refresh') refreshes.push(r.status());
      if (r.status() === 401) unauthorized.push(`${r.request().method()} ${path}`);
    });
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('button', { name: 'Account menu' }).waitFor();
    const signedInAt = Date.now();
    log('registered', user);

    step = 'silent refresh';
    {
      const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }));
      if (/eyJ/.test(stored)) fail(`an access token is in localStorage: ${stored}`);
      const cookies = await desktop.cookies(`${base}/api/v1/auth/refresh`);
      const refresh = cookies.find((c) => c.name === 'sunomi_refresh');
      if (!refresh || !refresh.httpOnly || refresh.sameSite !== 'Strict' || refresh.path !== '/api/v1/auth')
        fail(`refresh cookie ${JSON.stringify(refresh)}, want HttpOnly, SameSite=Strict, path /api/v1/auth`);
      // Past the first access token's lifetime, the app still acts signed in without asking anything.
      await waitFor('a silent refresh', () => refreshes.includes(200), ACCESS_TTL_S * 1000 + T.ui);
      await new Promise((r) => setTimeout(r, Math.max(0, signedInAt + ACCESS_TTL_S * 1000 + 2000 - Date.now())));
      await page.getByRole('button', { name: 'Account menu' }).click();
      await page.getByRole('menuitem', { name: 'My videos' }).click();
      await page.getByText('You have not uploaded anything yet.').waitFor();
      // A reload finds the session again through the cookie.
      await page.reload();
      await page.getByRole('button', { name: 'Account menu' }).waitFor();
      if (unauthorized.length > 0) fail(`requests were refused while signed in: ${unauthorized.join(', ')}`);
      log(`${refreshes.length} silent refresh(es) past the ${ACCESS_TTL_S} s access token; still signed in after a reload`);
    }

    step = 'sign in with GitHub';
    {
      const ghContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      // The avatar URL is GitHub's CDN, out of reach here: the browser gets a generated picture.
      await ghContext.route('https://avatars.githubusercontent.com/**', (route) => route.fulfill({ path: avatar, contentType: 'image/png' }));
      const gh = await newPage(ghContext);
      await gh.goto(`${base}/login?returnTo=%2Fmy%2Fvideos`);
      await gh.getByRole('link', { name: 'Sign in with GitHub' }).click();
      await gh.getByRole('button', { name: 'Authorize Sunomi' }).click();
      await gh.waitForURL(`${base}/my/videos`);
      await gh.getByRole('button', { name: 'Account menu' }).click();
      await gh.getByRole('menuitem', { name: 'The Octocat (@the-octocat)' }).waitFor();
      await gh.keyboard.press('Escape');
      await gh.goto(`${base}/channel/the-octocat`);
      const img = gh.locator('img[src^="https://avatars.githubusercontent.com/"]');
      await waitFor('the GitHub avatar to load', () => img.evaluate((el) => el.complete && el.naturalWidth === 96), T.ui);
      await ghContext.close();
      log('signed in with GitHub as the-octocat');
    }

    step = 'upload';
    await page.goto(`${base}/upload`);
    await page.getByTestId('file-input').setInputFiles(clip);
    await page.getByLabel('Title').fill(title);
    await page.getByLabel('Description').fill('A generated 10 s clip uploaded by the end-to-end test.');
    await shot(page, 'upload-desktop');
    // A slow uplink (4 MiB/s, throttled by the browser) leaves time to pause once a part is stored.
    const partOf = (r) => r.method() === 'PUT' && new URL(r.url()).searchParams.get('partNumber');
    const sent = new Map(); // part number → PUTs of it
    const stored = new Set();
    page.on('request', (r) => partOf(r) && sent.set(partOf(r), (sent.get(partOf(r)) ?? 0) + 1));
    page.on('requestfinished', async (r) => partOf(r) && (await r.response())?.status() === 200 && stored.add(partOf(r)));
    const cdp = await desktop.newCDPSession(page);
    const uplink = (bytesPerSecond) =>
      cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: bytesPerSecond });
    await uplink(4 << 20);
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    await waitFor('a first part to be stored', () => stored.size > 0, T.upload, 50);
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByText(/^Paused: \d+%/).waitFor();
    const progress = page.getByRole('progressbar', { name: 'Upload progress' });
    const paused = Number(await progress.getAttribute('aria-valuenow'));
    if (!(paused > 0 && paused < 100)) fail(`paused at ${paused}%, want the stored parts' share`);
    const storedAtPause = [...stored];
    await new Promise((r) => setTimeout(r, 1500));
    if (Number(await progress.getAttribute('aria-valuenow')) !== paused) fail(`the progress moved from ${paused}% while paused`);
    await shot(page, 'upload-paused-desktop');
    await uplink(-1);
    step = 'reload during the upload';
    // The page asks before leaving an unfinished upload; the reload goes ahead.
    page.once('dialog', (d) => d.accept());
    await page.reload();
    await page.getByRole('button', { name: 'Account menu' }).waitFor();
    await page.getByTestId('file-input').setInputFiles(clip);
    await page.getByText(/You started uploading this file/).waitFor();
    await shot(page, 'upload-resume-desktop');
    await page.getByRole('button', { name: 'Resume upload' }).click();
    await page.getByText(/^Uploaded: 100%/).waitFor({ timeout: T.upload });
    if (sent.size < 4) fail(`the upload sent parts ${[...sent.keys()]}, want a multipart upload of at least 4 parts`);
    for (const n of storedAtPause) if (sent.get(n) !== 1) fail(`part ${n} was stored before the pause but sent ${sent.get(n)} times`);
    // Kept until the upload is completed (a failed completion can still be resumed), then dropped.
    await waitFor(
      'the finished upload to be forgotten',
      () => page.evaluate(() => !Object.keys(localStorage).some((k) => k.startsWith('sunomi.upload.'))),
      T.ui,
    );
    log(`uploaded in ${sent.size} parts; paused at ${paused}% with parts ${storedAtPause} stored, reloaded, and the resume did not send them again`);
    step = 'transcode';
    await page.getByText('Transcoding is done (100%).').waitFor({ timeout: T.transcode });
    const overall = await page.getByRole('progressbar', { name: 'Transcoding progress, overall' }).getAttribute('aria-valuenow');
    if (overall !== '100') fail(`overall progress is ${overall}, want 100`);
    const rungBars = await page.getByRole('progressbar', { name: /Transcoding progress, \d+p/ }).count();
    log('transcoded;', rungBars, 'rung bars');
    await shot(page, 'upload-progress-desktop');
    await page.getByRole('link', { name: 'Watch now' }).click();
    await page.waitForURL(/\/watch\/[A-Za-z0-9_-]{11}$/);
    const watchURL = page.url();
    const videoId = watchURL.split('/').pop();

    step = 'play';
    await page.locator('video').waitFor();
    await waitFor('hls.js levels', () => page.evaluate(() => (window.__sunomiHls?.levels?.length ?? 0) > 0), T.ui);
    await page.getByRole('button', { name: 'Mute' }).click();
    await page.getByRole('button', { name: 'Play' }).click();
    await page.getByRole('button', { name: 'Pause' }).waitFor();
    if ((await page.getByRole('slider', { name: 'Seek' }).count()) !== 1) fail('the player shows more than one seek bar');
    if ((await page.getByText('Audio only').count()) !== 0) fail('the player calls a video with a picture audio only');
    await waitFor('currentTime to advance past 1 s', () => page.evaluate(() => document.querySelector('video').currentTime > 1), T.ui);
    const levels = await page.evaluate(() => window.__sunomiHls.levels.map((l) => l.height));
    if (levels.length < 2) fail(`hls.js has ${levels.length} quality level(s) (${levels}), want at least 2`);
    // New videos are CMAF: hls.js plays fMP4 fragments behind the rung's init segment.
    const fragment = await playingFragment(page);
    if (!/\.m4s(\?|$)/.test(fragment)) fail(`hls.js plays fragment ${fragment}, want an fMP4 (.m4s) one`);
    log('playing fMP4 (' + fragment.split('?')[0] + '); levels', levels.join(','));
    await page.getByRole('button', { name: /^Quality/ }).click();
    await page.getByRole('menuitem', { name: `${Math.min(...levels)}p` }).click();
    await waitFor(
      'manual quality switch',
      () =>
        page.evaluate(
          (h) => window.__sunomiHls.currentLevel >= 0 && window.__sunomiHls.levels[window.__sunomiHls.currentLevel].height === h,
          Math.min(...levels),
        ),
      T.ui,
    );

    step = 'seek preview';
    await page.getByRole('slider', { name: 'Seek' }).hover();
    const thumb = page.getByTestId('seek-preview-thumb');
    await thumb.waitFor();
    const sprite = await thumb.evaluate((el) => getComputedStyle(el).backgroundImage);
    const spriteURL = sprite.match(/^url\("?(.*?)"?\)$/)?.[1];
    if (!spriteURL || !new URL(spriteURL).pathname.endsWith('/storyboard.jpg'))
      fail(`the seek preview's background is ${sprite}, want the storyboard.jpg sprite`);
    const spriteRes = await fetch(spriteURL);
    if (spriteRes.status !== 200) fail(`GET ${spriteURL} answered ${spriteRes.status}`);
    await shot(page, 'seek-preview-desktop');
    await page.mouse.move(0, 0);
    await thumb.waitFor({ state: 'detached' });
    log('seek preview shows', spriteURL);

    step = 'keyboard';
    // Keyboard only: the skip link first, then Tab reaches the player's buttons, which keys work.
    await page.goto(watchURL);
    await page.locator('video').waitFor();
    await page.keyboard.press('Tab');
    const focused = () => page.evaluate(() => document.activeElement?.getAttribute('aria-label') || document.activeElement?.textContent?.trim());
    if ((await focused()) !== 'Skip to content') fail(`the first Tab focuses ${await focused()}, want the skip link`);
    await page.keyboard.press('Enter');
    let tabs = 0;
    while (!['Play', 'Pause'].includes(await focused())) {
      if (++tabs > 30) fail('30 Tabs after the skip link never reached the Play button');
      await page.keyboard.press('Tab');
    }
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Pause' }).waitFor();
    await waitFor('playback started from the keyboard', () => page.evaluate(() => !document.querySelector('video').paused), T.ui, 100);
    await page.keyboard.press('k');
    await page.getByRole('button', { name: 'Play' }).waitFor();
    log(`keyboard: the Play button is ${tabs} Tabs after the skip link; Enter plays, k pauses`);

    step = 'like';
    await page.getByRole('button', { name: /^Like/ }).click();
    await waitFor('the like count to read 1', async () => (await page.getByTestId('likes').textContent()) === '1', T.ui);

    step = 'comment';
    await page.getByLabel('Add a comment').fill('Lovely test pattern!');
    await page.getByRole('button', { name: 'Comment', exact: true }).click();
    await page.getByText('Lovely test pattern!').waitFor();

    step = 'edit and delete a comment';
    await page.getByRole('button', { name: 'Edit your comment' }).click();
    await page.getByRole('textbox', { name: 'Edit your comment' }).fill('Lovely test pattern, truly!');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByText('Lovely test pattern, truly!').waitFor();
    await page.getByText(/\(edited\)/).waitFor();
    await page.getByLabel('Add a comment').fill('A comment to take back');
    await page.getByRole('button', { name: 'Comment', exact: true }).click();
    const doomed = page.getByRole('listitem').filter({ hasText: 'A comment to take back' });
    await doomed.getByRole('button', { name: 'Delete your comment' }).click();
    await page.getByRole('dialog', { name: 'Delete your comment?' }).getByRole('button', { name: 'Delete' }).click();
    await page.getByText('A comment to take back').waitFor({ state: 'detached' });
    const left = await fetch(`${base}/api/v1/videos/${videoId}/comments`).then((r) => r.json());
    if (left.comments.map((c) => c.body).join('|') !== 'Lovely test pattern, truly!')
      fail(`the API lists comments ${JSON.stringify(left.comments.map((c) => c.body))}`);
    log('edited a comment (marked edited) and deleted another');

    step = 'resume at';
    {
      // Watch about half the clip, pause (which saves the position), leave, come back.
      const video = page.locator('video');
      await page.getByRole('button', { name: 'Play' }).click();
      await waitFor('playback past 4 s', () => video.evaluate((el) => el.currentTime > 4), T.ui, 100);
      const saved = page.waitForRequest(
        (r) => r.method() === 'POST' && r.url().endsWith(`/videos/${videoId}/views`) && /positionSeconds/.test(r.postData() ?? ''),
      );
      await page.getByRole('button', { name: 'Pause' }).click();
      const position = JSON.parse((await saved).postData()).positionSeconds;
      await page.goto(`${base}/history`);
      const entry = page.getByRole('list', { name: 'Watched videos' }).getByRole('listitem').filter({ hasText: title });
      await entry.waitFor();
      const watched = Number(await entry.getByRole('progressbar').getAttribute('aria-valuenow'));
      if (!(watched >= 30 && watched <= 90)) fail(`the history shows ${watched}% watched, want about half`);
      await shot(page, 'history-desktop');
      await entry.getByRole('link', { name: title }).click();
      const resume = page.getByRole('button', { name: /^Resume at 0:0\d$/ });
      await resume.waitFor();
      await waitFor('hls.js levels', () => page.evaluate(() => (window.__sunomiHls?.levels?.length ?? 0) > 0), T.ui);
      await resume.click();
      await waitFor(`playback from ${position.toFixed(1)} s`, () => video.evaluate((el, p) => el.currentTime >= p - 0.5, position), T.ui, 100);
      await page.getByRole('button', { name: 'Pause' }).click();
      log(`resumed at ${position.toFixed(1)} s after leaving; the history showed ${watched}% watched`);
    }
    await waitFor('the view count', async () => /^[1-9]\d* views?$/.test(await page.getByTestId('views').textContent()), T.ui, 1000).catch(() =>
      log('view count did not update live (not required)'),
    );
    await shot(page, 'watch-desktop');

    step = 'subscribe (second user)';
    // The phone prefers the dark theme, so both themes get screenshots and accessibility checks.
    const other = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, colorScheme: 'dark' });
    const phone = await newPage(other);
    await phone.goto(`${base}/login?mode=register`);
    await phone.getByLabel('Username').fill(`${user}_b`);
    await phone.getByLabel('Password').fill(password);
    await phone.getByRole('button', { name: 'Create account' }).click();
    await phone.getByRole('button', { name: 'Account menu' }).waitFor();
    await phone.goto(watchURL);
    await phone.getByRole('button', { name: 'Subscribe' }).click();
    await phone.getByRole('button', { name: 'Subscribed' }).waitFor();
    await shot(phone, 'watch-phone');
    await phone.goto(`${base}/`);
    await phone.getByRole('list', { name: 'Subscriptions' }).getByText(title).waitFor();
    await shot(phone, 'home-phone');
    log('subscribed; the feed shows the video');

    step = 'search';
    await page.goto(`${base}/`);
    await page.getByRole('list', { name: 'Latest videos' }).getByText(title).waitFor();
    await shot(page, 'home-desktop');
    // The header's icons sit at the right edge of a wide screen, not after the search box.
    const account = await page.getByRole('button', { name: 'Account menu' }).boundingBox();
    if (account.x + account.width < 1280 - 48) fail(`the account icon ends at x=${account.x + account.width}, not at the right edge of 1280`);
    await page.getByLabel('Search videos').fill(suffix);
    await page.getByLabel('Search videos').press('Enter');
    await page.waitForURL(/\/search\?q=/);
    await page.getByRole('list', { name: 'Search results' }).getByText(title).waitFor();
    await shot(page, 'search-desktop');
    await phone.goto(`${base}/search?q=${suffix}`);
    await phone.getByRole('list', { name: 'Search results' }).getByText(title).waitFor();
    await shot(phone, 'search-phone');
    log('found by search');

    step = 'operations page';
    // The operator grants the role, as README describes: `sunomi users set-role` on dev's database.
    const databaseURL = devDatabaseURL(devLog, dataDir);
    for (const name of [user, `${user}_b`]) execFileSync(BIN, ['users', 'set-role', name, 'moderator', '--database-url', databaseURL], { stdio: 'pipe' });
    await page.goto(`${base}/ops`); // a fresh load: the app asks /auth/me again and sees the role
    const agentsTable = page.getByRole('table', { name: 'Agents' });
    await agentsTable.waitFor();
    const agentRows = await agentsTable.locator('tbody tr').count();
    if (agentRows < 1) fail(`the agents table has ${agentRows} rows, want at least 1`);
    await page.getByRole('table', { name: 'Recent jobs' }).getByRole('link', { name: videoId }).waitFor();
    await page.getByRole('button', { name: 'Account menu' }).click();
    await page.getByRole('menuitem', { name: 'Farm operations' }).waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('menuitem', { name: 'Farm operations' }).waitFor({ state: 'hidden' });
    await shot(page, 'ops-desktop');
    await phone.goto(`${base}/ops`);
    await phone.getByRole('table', { name: 'Agents' }).waitFor();
    await shot(phone, 'ops-phone');
    log('operations page shows', agentRows, 'agent(s)');

    step = 'report a video';
    await phone.goto(watchURL);
    await phone.getByRole('button', { name: 'Report this video' }).click();
    const reportDialog = phone.getByRole('dialog', { name: 'Report this video' });
    await reportDialog.getByLabel('Misleading').check();
    await reportDialog.getByLabel('Details (optional)').fill('The title promises more than a test pattern.');
    await reportDialog.getByRole('button', { name: 'Send report' }).click();
    await reportDialog.getByText(/Your report was sent to the moderators/).waitFor();
    await shot(phone, 'report-phone');
    await reportDialog.getByRole('button', { name: 'Close' }).click();
    await phone.getByRole('button', { name: 'You reported this' }).waitFor();
    await phone.reload();
    await phone.getByRole('button', { name: 'You reported this' }).waitFor();
    log('reported the video from the second account; the watch page says so after a reload');
    // Off the watch page: when the video is deleted below, a page still on it would load it
    // again on the live "removed" event, and the browser logs the 404.
    await phone.goto(`${base}/`);

    step = 'moderation';
    {
      // The second user reports the video and the first user's comment, through the API.
      const api = async (method, path, token, body) => {
        const r = await fetch(`${base}/api/v1${path}`, {
          method,
          headers: { 'Content-Type': 'application/json', ...(token && { Authorization: `Bearer ${token}` }) },
          body: body && JSON.stringify(body),
        });
        if (!r.ok) fail(`${method} ${path} answered ${r.status}: ${await r.text()}`);
        return r.json();
      };
      const { token } = await api('POST', '/auth/login', null, { username: `${user}_b`, password });
      const { comments } = await api('GET', `/videos/${videoId}/comments`, token);
      const commentId = comments.find((c) => c.body === 'Lovely test pattern, truly!')?.id ?? fail('the comment is not listed');
      await api('POST', '/reports', token, { targetType: 'video', targetId: videoId, reason: 'misleading', note: 'not a real test pattern' });
      await api('POST', '/reports', token, { targetType: 'comment', targetId: commentId, reason: 'spam' });

      // One new account's report holds nothing, but reaches the report queue with its reporter's standing.
      await page.goto(`${base}/moderation`);
      await page.getByText('Nothing awaits review.').waitFor();
      await shot(page, 'moderation-desktop');
      await page.getByRole('tab', { name: 'Reports' }).click();
      const reported = page
        .getByRole('list', { name: 'Reported videos and comments' })
        .getByRole('listitem')
        .filter({ hasText: title })
        .filter({ hasNotText: 'Lovely test pattern' });
      await reported.getByText('report weight 0.25').waitFor();
      await reported.getByRole('button', { name: 'Show reports (1)' }).click();
      const standing = reported.getByRole('list', { name: 'Reports of this video' });
      await standing.getByText(`misleading · @${user}_b`).waitFor();
      await standing.getByText('new account when reporting').waitFor();
      await shot(page, 'moderation-reports-desktop');
      await reported.getByRole('button', { name: 'Dismiss reports' }).click();
      // The comment's report stays in the queue until the comment is decided on.
      await page
        .getByRole('list', { name: 'Reported videos and comments' })
        .getByRole('listitem')
        .filter({ hasText: 'Lovely test pattern, truly!' })
        .getByText('report weight 0.25')
        .waitFor();
      await reported.waitFor({ state: 'detached' });

      await page.getByRole('tab', { name: 'Comments' }).click();
      const queued = page.getByRole('list', { name: 'Comments awaiting review' }).getByRole('listitem').filter({ hasText: 'Lovely test pattern, truly!' });
      await queued.getByText('spam: 1').waitFor();
      await shot(page, 'moderation-comments-desktop');
      await queued.getByLabel('Note').fill('a fair comment');
      await queued.getByRole('button', { name: 'Dismiss reports' }).click();
      await page.getByText('No comment awaits review.').waitFor();

      // Both decisions are in the audit log, and so are the operator's role changes.
      await page.getByRole('tab', { name: 'Audit log' }).click();
      const auditTable = page.getByRole('table', { name: 'Audit log' });
      await auditTable
        .getByRole('row')
        .filter({ hasText: `comment ${commentId} on video ${videoId}` })
        .filter({ hasText: 'a fair comment' })
        .waitFor();
      await auditTable
        .getByRole('row')
        .filter({ hasText: `@${user}_b` })
        .filter({ hasText: 'set-role' })
        .waitFor();
      await page.getByLabel('Moderator').fill(user);
      await page.getByLabel('Action').click();
      await page.getByRole('option', { name: 'Approve' }).click();
      await page.getByRole('button', { name: 'Filter' }).click();
      await waitFor('the filtered audit log', async () => (await auditTable.getByRole('row').count()) === 3, T.ui);
      const approvals = await auditTable.getByRole('row').allTextContents();
      if (!approvals.slice(1).every((r) => r.includes(user) && r.includes('approve'))) fail(`the filtered audit log shows ${approvals}`);
      await shot(page, 'moderation-audit-desktop');
      log('moderation: reports with standing, both reports dismissed, both decisions in the filtered audit log');
    }
    await page.goto(`${base}/channel/${user}`);
    await page.getByRole('list', { name: 'Videos of E2E Tester' }).getByText(title).waitFor();
    await shot(page, 'channel-desktop');

    step = 'captions';
    await page.goto(`${base}/my/videos`);
    await page.getByRole('button', { name: `Captions of ${title}` }).click();
    const captions = page.getByRole('dialog', { name: `Captions of “${title}”` });
    await captions.getByText('This video has no captions yet.').waitFor();
    await captions.getByLabel(/^Language/).fill('de');
    await page
      .getByTestId('caption-file')
      .setInputFiles({ name: 'de.srt', mimeType: 'text/plain', buffer: Buffer.from('1\n00:00:00,000 --> 00:00:04,000\nHallo\n') });
    await captions.getByRole('button', { name: 'Upload captions' }).click();
    await captions.getByText('This is not a WebVTT file: its first line must be WEBVTT.').waitFor();
    await page
      .getByTestId('caption-file')
      .setInputFiles({ name: 'de.vtt', mimeType: 'text/vtt', buffer: Buffer.from('WEBVTT\n\n00:00.000 --> 00:04.000\nHallo Welt\n') });
    await captions.getByRole('button', { name: 'Upload captions' }).click();
    await captions.getByText('Deutsch captions uploaded.').waitFor();
    await captions.getByRole('list', { name: 'Caption tracks' }).getByText('Deutsch').waitFor();
    await shot(page, 'captions-desktop');
    await captions.getByRole('button', { name: 'Close' }).click();
    await page.goto(watchURL);
    await page.getByRole('button', { name: 'Captions' }).click();
    await page.getByRole('menuitemradio', { name: /Deutsch/ }).click();
    await waitFor(
      'the German track to show',
      () => page.evaluate(() => [...document.querySelector('video').textTracks].some((t) => t.language === 'de' && t.mode === 'showing')),
      T.ui,
    );
    log('uploaded German captions (a non-WebVTT file refused inline); the player lists and shows them');

    // playDASH plays a video's DASH manifest in dash.js on a page of its own, past 2 s without
    // an error, and returns the representation playing and the page (for the caller to close).
    const playDASH = async (videoId) => {
      const { playback } = await fetch(`${base}/api/v1/videos/${videoId}`).then((r) => r.json());
      const manifest = new URL(playback.masterUrl.replace('/master.m3u8', '/manifest.mpd'), base).href;
      const dashPage = await newPage(desktop);
      await dashPage.setContent('<video muted playsinline width="640"></video>');
      await dashPage.addScriptTag({ path: DASHJS });
      await dashPage.evaluate((url) => {
        const player = window.dashjs.MediaPlayer().create();
        window.__dash = { player, errors: [] };
        player.on(window.dashjs.MediaPlayer.events.ERROR, (e) => window.__dash.errors.push(JSON.stringify(e.error ?? e)));
        player.initialize(document.querySelector('video'), url, true);
      }, manifest);
      await waitFor(
        'dash.js playback past 2 s',
        () =>
          dashPage.evaluate(() => {
            if (window.__dash.errors.length > 0) throw new Error(`dash.js: ${window.__dash.errors.join('; ')}`);
            return document.querySelector('video').currentTime > 2;
          }),
        T.ui,
      );
      const rep = await dashPage.evaluate(() => {
        const r = window.__dash.player.getCurrentRepresentationForType('video');
        return r && { id: r.id, width: r.width, height: r.height, bandwidth: r.bandwidth, codecs: r.codecs };
      });
      return { manifest, rep, dashPage };
    };

    step = 'DASH with dash.js';
    {
      // The same fMP4 segments through the video's DASH manifest, in dash.js on a page of its
      // own, with the caption track the manifest offers since the upload above.
      const { manifest, rep, dashPage } = await playDASH(videoId);
      if (!rep || !/^avc1\./.test(rep.codecs ?? '') || !levels.includes(rep.height) || rep.id !== `${rep.height}p`)
        fail(`dash.js plays representation ${JSON.stringify(rep)}, want one of the ladder's H.264 rungs (${levels})`);
      const text = await dashPage.evaluate(() => window.__dash.player.getTracksFor('text').map((t) => t.lang));
      if (!text.includes('de')) fail(`dash.js offers text tracks ${JSON.stringify(text)}, want the German captions`);
      const errs = await dashPage.evaluate(() => window.__dash.errors);
      if (errs.length > 0) fail(`dash.js reported errors: ${errs.join('; ')}`);
      await dashPage.close();
      log(
        `dash.js plays ${manifest.split('?')[0]} at representation ${rep.id} (${rep.width}x${rep.height}, ${rep.bandwidth} b/s, ${rep.codecs}); text tracks ${text}`,
      );
    }

    step = 'profile';
    await page.goto(`${base}/settings/profile`);
    await page.getByLabel('Bio', { exact: true }).fill('I make test patterns.');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByText('Saved.').waitFor();
    await page.getByTestId('avatar-input').setInputFiles(avatar);
    await page.getByRole('img', { name: 'Preview of your new picture' }).waitFor();
    await page.getByRole('slider', { name: 'Zoom' }).focus();
    await page.keyboard.press('ArrowRight');
    await shot(page, 'profile-desktop');
    await page.getByRole('button', { name: 'Save picture' }).click();
    await page.getByText('Your new picture is on your channel.').waitFor();
    await page.goto(`${base}/channel/${user}`);
    await page.getByText('I make test patterns.').waitFor();
    const picture = page.locator('img[src^="/avatars/"]').first();
    await waitFor('the new avatar to load', () => picture.evaluate((el) => el.complete && el.naturalWidth > 0 && el.naturalWidth === el.naturalHeight), T.ui);
    log('edited the bio and uploaded a square-cropped avatar; the channel page shows both');

    step = 'api docs offline';
    {
      // Swagger UI comes from the binary: with every other host unreachable the page still
      // renders the contract's operations.
      const docsContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const elsewhere = [];
      await docsContext.route('**/*', (route) => {
        const url = new URL(route.request().url());
        if (url.origin === new URL(base).origin) return route.continue();
        elsewhere.push(url.href);
        return route.abort('internetdisconnected');
      });
      const docs = await newPage(docsContext);
      await docs.goto(`${base}/api/docs`);
      await docs.locator('.opblock').first().waitFor();
      const operations = await docs.locator('.opblock').count();
      if (operations < 10) fail(`/api/docs shows ${operations} operations, want the contract's`);
      if (elsewhere.length > 0) fail(`/api/docs asked other hosts for ${elsewhere.join(', ')}`);
      await docsContext.close();
      log(`API docs render ${operations} operations without other hosts`);
    }

    step = 'delete';
    await page.goto(`${base}/my/videos`);
    await shot(page, 'my-videos-desktop');
    await page.getByRole('button', { name: `Delete ${title}` }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('button', { name: `Delete ${title}` }).waitFor({ state: 'detached' });
    await page.getByText('You have not uploaded anything yet.').waitFor();
    const gone = await fetch(`${base}/api/v1/videos/${videoId}`);
    if (gone.status !== 404) fail(`GET the deleted video answered ${gone.status}, want 404`);
    log('deleted');

    // restartWith restarts sunomi dev with flags (the data kept), then uploads the short clip
    // as a new video titled videoTitle and waits for its transcode: it returns the watch URL.
    const restartWith = async (videoTitle, ...flags) => {
      for (const p of openPages) if (!p.isClosed()) await p.goto('about:blank');
      await stopDev();
      startDev(...flags);
      await devReady();
      await page.goto(`${base}/upload`);
      await page.getByTestId('file-input').setInputFiles(tsClip);
      await page.getByLabel('Title').fill(videoTitle);
      await page.getByRole('button', { name: 'Upload', exact: true }).click();
      await page.getByText('Transcoding is done (100%).').waitFor({ timeout: T.transcode });
      return new URL(await page.getByRole('link', { name: 'Watch now' }).getAttribute('href'), base).href;
    };
    // playFromWatch opens a watch page and plays it, muted, past its first second.
    const playFromWatch = async (url) => {
      await page.goto(url);
      await page.locator('video').waitFor();
      await waitFor('hls.js levels', () => page.evaluate(() => (window.__sunomiHls?.levels?.length ?? 0) > 0), T.ui);
      await page.getByRole('button', { name: 'Mute' }).click();
      await page.getByRole('button', { name: 'Play' }).click();
      await waitFor('currentTime to advance past 1 s', () => page.evaluate(() => document.querySelector('video').currentTime > 1), T.ui);
    };
    // Back where the steps below start: the owner's videos (no watch page with its own Sign in link).
    const backToMyVideos = async (videoTitle) => {
      await page.getByRole('button', { name: 'Pause' }).click();
      await page.goto(`${base}/my/videos`);
      await page.getByRole('button', { name: `Delete ${videoTitle}` }).waitFor();
    };

    step = 'MPEG-TS video';
    {
      // A server switched to --segments ts makes MPEG-TS ladders from then on (videos keep the
      // format they were transcoded in), which the SPA plays through hls.js as before.
      await playFromWatch(await restartWith(`${title} in MPEG-TS`, '--segments', 'ts'));
      const tsFragment = await playingFragment(page);
      if (!/\.ts(\?|$)/.test(tsFragment)) fail(`hls.js plays fragment ${tsFragment}, want an MPEG-TS (.ts) one`);
      await backToMyVideos(`${title} in MPEG-TS`);
      log(`after a restart with --segments ts, a new video plays MPEG-TS (${tsFragment.split('?')[0]}) through hls.js`);
    }

    step = 'AV1 video';
    {
      // With --av1 all a new video is published with its H.264 ladder, and the farm adds each AV1
      // rung to the master playlist when it is encoded; the player prefers AV1 where the browser
      // decodes it, and its quality menu says so.
      const av1Title = `${title} in AV1`;
      const watch = await restartWith(av1Title, '--av1', 'all');
      const id = watch.split('/').pop();
      const masterURL = (await (await fetch(`${base}/api/v1/videos/${id}`)).json()).playback?.masterUrl;
      if (!masterURL) fail(`video ${id} has no master playlist`);
      // Waited for outside the browser, which would cache a master fetched before the AV1 rungs.
      await waitFor(
        'an AV1 variant in the master playlist',
        async () => /CODECS="av01\./.test(await (await fetch(new URL(masterURL, base))).text()),
        T.transcode,
        2000,
      );
      if (!(await page.evaluate(() => MediaSource.isTypeSupported('video/mp4; codecs="av01.0.08M.08"'))))
        fail('this chromium cannot decode AV1 through Media Source Extensions');
      await playFromWatch(watch);
      const playing = await page.evaluate(() => {
        const hls = window.__sunomiHls;
        const level = hls.levels[hls.currentLevel];
        return { codec: level?.videoCodec ?? '', url: level?.url?.[0] ?? '', height: level?.height };
      });
      if (!playing.codec.startsWith('av01')) fail(`hls.js plays a level of codec ${playing.codec || 'none'}, want AV1 (av01…)`);
      if (!/\/\d+p-av1\/playlist\.m3u8(\?|$)/.test(new URL(playing.url).pathname)) fail(`hls.js plays ${playing.url}, want an AV1 rung's playlist`);
      await page.getByRole('button', { name: /^Quality: Auto \(\d+p · AV1\)$/ }).waitFor();
      await backToMyVideos(av1Title);
      // The same video's DASH manifest, AV1 adaptation set and all, in dash.js: after the pause
      // above, as the clip would end while dash.js plays, and the Pause button with it.
      const dash = await playDASH(id);
      const dashCodecs = await dash.dashPage.evaluate(() =>
        window.__dash.player.getTracksFor('video').flatMap((t) => [t.codec, ...(t.representations ?? []).map((r) => r.codecs)].filter(Boolean).map(String)),
      );
      if (!dashCodecs.some((c) => String(c).includes('av01'))) fail(`dash.js offers video tracks ${JSON.stringify(dashCodecs)}, want an AV1 one`);
      const dashErrs = await dash.dashPage.evaluate(() => window.__dash.errors);
      if (dashErrs.length > 0) fail(`dash.js reported errors: ${dashErrs.join('; ')}`);
      await dash.dashPage.close();
      log(`after a restart with --av1 all, a new video plays its ${playing.height}p AV1 rung (${playing.codec}) through hls.js`);
      log(`dash.js plays its manifest (representation ${dash.rep?.id}, ${dash.rep?.codecs}), offering ${dashCodecs.join(', ')}`);
    }

    step = 'sign out everywhere';
    {
      if (unauthorized.length > 0) fail(`requests were refused while signed in: ${unauthorized.join(', ')}`);
      // The same account on a second device: signing out everywhere from the first ends both.
      const laptopContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      // Not newPage: this page's requests are meant to meet 401s, which Chromium logs as errors.
      const laptop = await laptopContext.newPage();
      openPages.push(laptop);
      laptop.setDefaultTimeout(T.ui);
      await laptop.goto(`${base}/login`);
      await laptop.getByLabel('Username').fill(user);
      await laptop.getByLabel('Password').fill(password);
      await laptop.getByRole('button', { name: 'Sign in', exact: true }).click();
      await laptop.getByRole('button', { name: 'Account menu' }).waitFor();

      await page.getByRole('button', { name: 'Account menu' }).click();
      await page.getByRole('menuitem', { name: 'Sign out everywhere' }).click();
      await page.getByRole('link', { name: 'Sign in', exact: true }).waitFor();
      if ((await desktop.cookies(`${base}/api/v1/auth/refresh`)).some((c) => c.name === 'sunomi_refresh')) fail('the refresh cookie survives signing out');
      // The laptop's access token has not expired, yet its next request is refused, the refresh
      // too, and the app signs out.
      await laptop.getByRole('button', { name: 'Account menu' }).click();
      await laptop.getByRole('menuitem', { name: 'My videos' }).click();
      await laptop.waitForURL(/\/login\?returnTo=/);
      await laptop.getByRole('link', { name: 'Sign in', exact: true }).waitFor();
      await laptop.reload();
      await laptop.getByRole('link', { name: 'Sign in', exact: true }).waitFor();
      // A link carrying a token signs nobody in (login CSRF).
      await laptop.goto(`${base}/my/videos#token=${encodeURIComponent('eyJhbGciOiJIUzI1NiJ9.e30.planted')}`);
      await laptop.waitForURL(/\/login\?returnTo=/);
      await laptopContext.close();
      log('signed out everywhere: the other device is signed out at its next request; a #token= link does nothing');
    }

    step = 'console';
    if (errors.length > 0) fail(`console errors:\n  ${errors.join('\n  ')}`);
    step = 'accessibility';
    if (a11y.length > 0) fail(`axe-core found WCAG 2.1 AA violations:\n  ${a11y.join('\n  ')}`);
    log(`PASS: screenshots in ${SHOTS}`);
  } catch (e) {
    // Leave what each page showed, for the failure report.
    for (const [i, p] of openPages.entries()) {
      await p.screenshot({ path: join(OUT, `failure-${i}.png`) }).catch(() => {});
      console.error(`[e2e] page ${i} was at ${p.url()}; screenshot ${join(OUT, `failure-${i}.png`)}`);
    }
    if (errors.length) console.error(`[e2e] console errors so far:\n  ${errors.join('\n  ')}`);
    console.error(`[e2e] sunomi dev log: ${devLog}`);
    throw e;
  } finally {
    await browser?.close().catch(() => {});
    await github.close();
    await stopDev();
    if (!process.env.KEEP) rmSync(tmp, { recursive: true, force: true });
    else log('kept', tmp);
  }
}

main().catch((e) => {
  console.error(`\n[e2e] FAIL ${e.message}`);
  process.exit(1);
});
