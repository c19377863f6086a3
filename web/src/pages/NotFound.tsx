import { Box, Button, Typography } from '@mui/material';
import { Link as RouterLink } from 'react-router-dom';

export default function NotFound({ what = 'page' }: { what?: string }) {
  return (
    <Box sx={{ py: 8, textAlign: 'center' }}>
      <Typography variant="h5" component="h1" sx={{ mb: 1 }}>
        This {what} does not exist
      </Typography>
      <Typography color="text.secondary" sx={{ mb: 3 }}>
        It may have been deleted or made private, or the link is mistyped.
      </Typography>
      <Button component={RouterLink} to="/" variant="contained">
        Go home
      </Button>
    </Box>
  );
}
