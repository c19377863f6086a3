import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { QualityMenu, levelLabel } from './QualityMenu';

const levels = [
  { index: 0, height: 360, bitrate: 800_000 },
  { index: 1, height: 720, bitrate: 3_000_000 },
  { index: 2, height: 240, bitrate: 400_000 },
];

describe('QualityMenu', () => {
  it('shows Auto with the level playing, and lists levels tallest first', async () => {
    const onSelect = vi.fn();
    render(<QualityMenu levels={levels} selected={-1} playing={1} onSelect={onSelect} />);
    const button = screen.getByRole('button', { name: 'Quality: Auto (720p)' });
    await userEvent.click(button);
    const items = screen.getAllByRole('menuitem').map((i) => i.textContent);
    expect(items).toEqual(['Auto', '720p', '360p', '240p']);
    await userEvent.click(screen.getByRole('menuitem', { name: '360p' }));
    expect(onSelect).toHaveBeenCalledWith(0);
  });

  it('shows a manual choice and goes back to Auto with the keyboard', async () => {
    const onSelect = vi.fn();
    render(<QualityMenu levels={levels} selected={2} playing={2} onSelect={onSelect} />);
    const button = screen.getByRole('button', { name: 'Quality: 240p' });
    button.focus();
    await userEvent.keyboard('{Enter}');
    expect(screen.getByRole('menuitem', { name: '240p' })).toHaveClass('Mui-selected');
    // Focus lands on the selected item; Auto is the first.
    await userEvent.keyboard('{Home}{Enter}');
    expect(onSelect).toHaveBeenCalledWith(-1);
  });

  it('is disabled until the manifest has levels', () => {
    render(<QualityMenu levels={[]} selected={-1} playing={-1} onSelect={() => {}} />);
    expect(screen.getByRole('button', { name: /Quality/ })).toBeDisabled();
  });

  it('names a level by its height and, when the playlist says, its codec', () => {
    expect(levelLabel({ height: 720, codec: 'AV1' })).toBe('720p · AV1');
    expect(levelLabel({ height: 1080, codec: 'H.264' })).toBe('1080p · H.264');
    expect(levelLabel({ height: 240 })).toBe('240p');
  });
});
