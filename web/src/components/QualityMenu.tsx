import { useState } from 'react';
import { Button, Menu, MenuItem, ListItemIcon, ListItemText } from '@mui/material';
import CheckIcon from '@mui/icons-material/Check';
import SettingsIcon from '@mui/icons-material/Settings';

export interface Level {
  index: number;
  height: number;
  bitrate: number;
  /** The picture codec by name ("AV1", "H.264"), when the master playlist says. */
  codec?: string;
}

export interface QualityMenuProps {
  levels: Level[];
  /** -1 is automatic (adaptive bitrate). */
  selected: number;
  /** The level playing now, shown next to "Auto". */
  playing: number;
  onSelect: (index: number) => void;
}

/** levelLabel names a level by its height and, when known, its codec: "720p · AV1". */
export function levelLabel(l: Pick<Level, 'height' | 'codec'>): string {
  return l.codec ? `${l.height}p · ${l.codec}` : `${l.height}p`;
}

/** QualityMenu lets the viewer pick a rendition or leave it to adaptive bitrate. */
export function QualityMenu({ levels, selected, playing, onSelect }: QualityMenuProps) {
  const [anchor, setAnchor] = useState<HTMLElement | null>(null);
  const sorted = [...levels].sort((a, b) => b.height - a.height || b.bitrate - a.bitrate);
  const playingLevel = levels.find((l) => l.index === playing);
  const current =
    selected === -1 ? `Auto${playingLevel ? ` (${levelLabel(playingLevel)})` : ''}` : levelLabel(levels.find((l) => l.index === selected) ?? { height: 0 });
  const choose = (i: number) => {
    onSelect(i);
    setAnchor(null);
  };
  return (
    <>
      <Button
        size="small"
        startIcon={<SettingsIcon />}
        onClick={(e) => setAnchor(e.currentTarget)}
        aria-haspopup="menu"
        aria-expanded={anchor ? 'true' : undefined}
        aria-label={`Quality: ${current}`}
        disabled={levels.length === 0}
      >
        {current}
      </Button>
      <Menu anchorEl={anchor} open={!!anchor} onClose={() => setAnchor(null)}>
        <MenuItem selected={selected === -1} onClick={() => choose(-1)}>
          <ListItemIcon>{selected === -1 && <CheckIcon fontSize="small" />}</ListItemIcon>
          <ListItemText>Auto</ListItemText>
        </MenuItem>
        {sorted.map((l) => (
          <MenuItem key={l.index} selected={selected === l.index} onClick={() => choose(l.index)}>
            <ListItemIcon>{selected === l.index && <CheckIcon fontSize="small" />}</ListItemIcon>
            <ListItemText>{levelLabel(l)}</ListItemText>
          </MenuItem>
        ))}
      </Menu>
    </>
  );
}
