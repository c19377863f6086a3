import { useEffect, useState, type FormEvent } from 'react';
import { Autocomplete, Box, IconButton, InputBase } from '@mui/material';
import SearchIcon from '@mui/icons-material/Search';
import { useQuery } from '@tanstack/react-query';
import { useLocation, useNavigate } from 'react-router-dom';
import { api, unwrap } from '../api/client';

/** How long typing must pause before the box asks for suggestions. */
export const suggestDelayMs = 250;

/** How many videos the box suggests. */
const suggestions = 6;

/** useDebounced returns value once it has stayed the same for delay ms. */
function useDebounced<T>(value: T, delay: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setSettled(value), delay);
    return () => clearTimeout(t);
  }, [value, delay]);
  return settled;
}

interface Suggestion {
  id: string;
  title: string;
}

/**
 * SearchBox is the header's search: it suggests videos as the viewer types (the search endpoint
 * itself, which forgives typos and matches the last word as a prefix, after a pause in typing),
 * opens a suggestion's watch page, and searches on Enter.
 */
export default function SearchBox() {
  const navigate = useNavigate();
  const loc = useLocation();
  const [q, setQ] = useState(() => new URLSearchParams(loc.search).get('q') ?? '');
  const typed = useDebounced(q.trim(), suggestDelayMs);
  const suggested = useQuery({
    queryKey: ['suggest', typed],
    enabled: typed.length >= 2,
    staleTime: 60_000,
    queryFn: async ({ signal }) => {
      const page = unwrap(await api.GET('/search', { params: { query: { q: typed, limit: suggestions } }, signal }));
      return page.videos.map((v): Suggestion => ({ id: v.id, title: v.title }));
    },
  });
  const options = typed.length >= 2 ? (suggested.data ?? []) : [];
  const search = (text: string) => {
    if (text.trim()) navigate(`/search?q=${encodeURIComponent(text.trim())}`);
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    search(q);
  };
  return (
    <Box
      component="form"
      role="search"
      onSubmit={submit}
      sx={{ display: 'flex', flex: 1, maxWidth: 560, mx: { xs: 1, sm: 3 }, bgcolor: 'rgba(255,255,255,.12)', borderRadius: 5, pl: 2 }}
    >
      <Autocomplete<Suggestion, false, false, true>
        freeSolo
        fullWidth
        options={options}
        filterOptions={(o) => o}
        getOptionLabel={(o) => (typeof o === 'string' ? o : o.title)}
        inputValue={q}
        onInputChange={(_, value, reason) => {
          if (reason !== 'reset') setQ(value);
        }}
        onChange={(_, value) => {
          if (value && typeof value !== 'string') navigate(`/watch/${value.id}`);
          else if (typeof value === 'string') search(value);
        }}
        renderOption={(props, o) => {
          const { key, ...rest } = props as typeof props & { key: string };
          return (
            <li key={key} {...rest}>
              {o.title}
            </li>
          );
        }}
        renderInput={(params) => (
          <InputBase
            ref={params.slotProps.input.ref}
            inputProps={{ ...params.slotProps.htmlInput, 'aria-label': 'Search videos', maxLength: 200 }}
            placeholder="Search"
            sx={{ flex: 1, color: 'inherit', width: '100%' }}
          />
        )}
        sx={{ flex: 1, display: 'flex', alignItems: 'center' }}
      />
      <IconButton type="submit" aria-label="Search" color="inherit">
        <SearchIcon />
      </IconButton>
    </Box>
  );
}
