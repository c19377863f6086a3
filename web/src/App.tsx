import { lazy, Suspense, useEffect, useState } from 'react';
import {
  AppBar,
  Box,
  Button,
  CircularProgress,
  Container,
  CssBaseline,
  IconButton,
  Menu,
  MenuItem,
  Snackbar,
  ThemeProvider,
  Toolbar,
  Tooltip,
  Typography,
  createTheme,
  useMediaQuery,
} from '@mui/material';
import UploadIcon from '@mui/icons-material/FileUpload';
import AccountCircle from '@mui/icons-material/AccountCircle';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { BrowserRouter, Link as RouterLink, Route, Routes, useLocation, useNavigate } from 'react-router-dom';
import { AuthProvider, takeFragment, useAuth } from './auth';
import { startSession } from './api/session';
import { ChangePasswordDialog } from './components/ChangePassword';
import { SessionsDialog } from './components/Sessions';
import SearchBox from './components/SearchBox';

const Home = lazy(() => import('./pages/Home'));
const Search = lazy(() => import('./pages/Search'));
const Watch = lazy(() => import('./pages/Watch'));
const UploadPage = lazy(() => import('./pages/Upload'));
const MyVideos = lazy(() => import('./pages/MyVideos'));
const Channel = lazy(() => import('./pages/Channel'));
const Login = lazy(() => import('./pages/Login'));
const Moderation = lazy(() => import('./pages/Moderation'));
const Ops = lazy(() => import('./pages/Ops'));
const NotFound = lazy(() => import('./pages/NotFound'));
const History = lazy(() => import('./pages/History'));
const Profile = lazy(() => import('./pages/Profile'));

const queryClient = new QueryClient({
  defaultOptions: { queries: { staleTime: 15_000, retry: 1, refetchOnWindowFocus: false } },
});

// The GitHub callback lands on returnTo#code=… or #error=…: take it before anything renders,
// and out of the address bar and history. The code is exchanged (with this browser's state
// cookie) for a session; without a code, the session this browser had is restored.
const fragment = takeFragment(window.location.hash);
if (fragment.code || fragment.error) history.replaceState(null, '', window.location.pathname + window.location.search);
const started = startSession(fragment.code);

function TopBar({ notify }: { notify: (message: string) => void }) {
  const { user, signOut, signOutEverywhere, token } = useAuth();
  const [anchor, setAnchor] = useState<HTMLElement | null>(null);
  const [changingPassword, setChangingPassword] = useState(false);
  const [listingDevices, setListingDevices] = useState(false);
  const navigate = useNavigate();
  const phone = useMediaQuery('(max-width:600px)');
  const go = (path: string) => {
    setAnchor(null);
    navigate(path);
  };
  return (
    <AppBar position="sticky" color="default" elevation={0} sx={{ borderBottom: 1, borderColor: 'divider' }}>
      <Toolbar sx={{ gap: 1 }}>
        <Typography
          component={RouterLink}
          to="/"
          variant="h6"
          sx={{ color: 'inherit', textDecoration: 'none', fontWeight: 700, display: 'flex', alignItems: 'center', gap: 1 }}
        >
          {/* On phones the logo alone is the link: its alt text names it. */}
          <img src="/favicon.svg" alt={phone ? 'Sunomi' : ''} width={28} height={28} />
          {!phone && 'Sunomi'}
        </Typography>
        <SearchBox />
        {/* Takes what the search box, capped in width, leaves: the icons sit at the right edge. */}
        <Box sx={{ ml: 'auto' }} />
        {token ? (
          <>
            <Tooltip title="Upload">
              <IconButton component={RouterLink} to="/upload" aria-label="Upload a video" color="inherit">
                <UploadIcon />
              </IconButton>
            </Tooltip>
            <IconButton aria-label="Account menu" aria-haspopup="menu" onClick={(e) => setAnchor(e.currentTarget)} color="inherit">
              <AccountCircle />
            </IconButton>
            <Menu anchorEl={anchor} open={!!anchor} onClose={() => setAnchor(null)}>
              {user && (
                <MenuItem disabled>
                  {user.displayName} (@{user.username})
                </MenuItem>
              )}
              {user && <MenuItem onClick={() => go(`/channel/${user.username}`)}>My channel</MenuItem>}
              <MenuItem onClick={() => go('/my/videos')}>My videos</MenuItem>
              <MenuItem onClick={() => go('/history')}>History</MenuItem>
              <MenuItem onClick={() => go('/settings/profile')}>Edit profile</MenuItem>
              <MenuItem onClick={() => go('/upload')}>Upload</MenuItem>
              {user && user.role !== 'user' && <MenuItem onClick={() => go('/moderation')}>Moderation queue</MenuItem>}
              {user && user.role !== 'user' && <MenuItem onClick={() => go('/ops')}>Farm operations</MenuItem>}
              <MenuItem
                onClick={() => {
                  setAnchor(null);
                  void signOut().then(() => navigate('/'));
                }}
              >
                Sign out
              </MenuItem>
              <MenuItem
                onClick={() => {
                  setAnchor(null);
                  signOutEverywhere().then(
                    () => navigate('/'),
                    (e: Error) => notify(`Could not sign out everywhere: ${e.message}`),
                  );
                }}
              >
                Sign out everywhere
              </MenuItem>
              <MenuItem
                onClick={() => {
                  setAnchor(null);
                  setChangingPassword(true);
                }}
              >
                Change password
              </MenuItem>
              <MenuItem
                onClick={() => {
                  setAnchor(null);
                  setListingDevices(true);
                }}
              >
                Signed-in devices
              </MenuItem>
            </Menu>
            <ChangePasswordDialog
              open={changingPassword}
              onClose={() => setChangingPassword(false)}
              onDone={() => {
                setChangingPassword(false);
                notify('Password changed; your other devices are signed out.');
              }}
            />
            <SessionsDialog open={listingDevices} onClose={() => setListingDevices(false)} />
          </>
        ) : (
          <Button component={RouterLink} to="/login" variant="outlined" startIcon={<AccountCircle />}>
            Sign in
          </Button>
        )}
      </Toolbar>
    </AppBar>
  );
}

function Shell() {
  const [authError, setAuthError] = useState(fragment.error ? `Sign-in failed: ${fragment.error}` : '');
  useEffect(() => {
    void started.then((e) => e && setAuthError(`Sign-in failed: ${e}`));
  }, []);
  const loc = useLocation();
  useEffect(() => {
    window.scrollTo(0, 0);
  }, [loc.pathname]);
  return (
    <>
      <a href="#main" className="skip-link">
        Skip to content
      </a>
      <TopBar notify={setAuthError} />
      <Container component="main" id="main" maxWidth="xl" sx={{ py: 3 }} tabIndex={-1}>
        <Suspense
          fallback={
            <Box sx={{ display: 'grid', placeItems: 'center', py: 8 }}>
              <CircularProgress aria-label="Loading" />
            </Box>
          }
        >
          <Routes>
            <Route path="/" element={<Home />} />
            <Route path="/search" element={<Search />} />
            <Route path="/watch/:videoId" element={<Watch />} />
            <Route path="/upload" element={<UploadPage />} />
            <Route path="/my/videos" element={<MyVideos />} />
            <Route path="/history" element={<History />} />
            <Route path="/settings/profile" element={<Profile />} />
            <Route path="/channel/:username" element={<Channel />} />
            <Route path="/login" element={<Login />} />
            <Route path="/moderation" element={<Moderation />} />
            <Route path="/ops" element={<Ops />} />
            <Route path="*" element={<NotFound />} />
          </Routes>
        </Suspense>
      </Container>
      <Snackbar open={!!authError} autoHideDuration={8000} onClose={() => setAuthError('')} message={authError} />
    </>
  );
}

export function App() {
  const dark = useMediaQuery('(prefers-color-scheme: dark)');
  const theme = createTheme({
    // contrastThreshold 4.5: text on coloured buttons meets WCAG AA (MUI's default 3 puts white on dark mode's red).
    palette: { mode: dark ? 'dark' : 'light', primary: { main: dark ? '#ef5350' : '#c62828' }, contrastThreshold: 4.5 },
    typography: { fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif' },
  });
  return (
    <ThemeProvider theme={theme}>
      <CssBaseline />
      <style>{`.skip-link{position:absolute;left:-999px;top:0;z-index:2000;padding:8px;background:#fff;color:#000}.skip-link:focus{left:8px}`}</style>
      <QueryClientProvider client={queryClient}>
        <AuthProvider>
          <BrowserRouter>
            <Shell />
          </BrowserRouter>
        </AuthProvider>
      </QueryClientProvider>
    </ThemeProvider>
  );
}
