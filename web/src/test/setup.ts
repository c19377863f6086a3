import '@testing-library/jest-dom/vitest';
import { configure } from '@testing-library/react';

// findBy* and waitFor wait up to 1 s by default, which a loaded CI machine
// overruns while rendering; 10 s still fails a test that never gets there.
configure({ asyncUtilTimeout: 10_000 });
