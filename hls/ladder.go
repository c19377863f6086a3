package hls

import (
	"fmt"
	"path"
)

// Ladder is a published ladder as its playlists describe it: the master playlist and the
// media playlist of every rendition it names.
type Ladder struct {
	Master *MasterPlaylist
	// URIs are the renditions' playlists relative to the master, variants first, then the
	// renditions (EXT-X-MEDIA) that have a URI, in the master's order.
	URIs []string
	// Media holds each of URIs' media playlists.
	Media map[string]*MediaPlaylist
}

// ReadLadder reads and parses a ladder's playlists, master first; read returns the file at a
// URI relative to the master playlist (masterURI for the master itself). Errors name the file.
func ReadLadder(masterURI string, read func(uri string) ([]byte, error)) (*Ladder, error) {
	b, err := read(masterURI)
	if err != nil {
		return nil, err
	}
	master, err := ParseMasterPlaylist(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", masterURI, err)
	}
	l := &Ladder{Master: master, Media: map[string]*MediaPlaylist{}}
	for _, v := range master.Variants {
		l.URIs = append(l.URIs, v.URI)
	}
	for _, r := range master.Renditions {
		if r.URI != "" {
			l.URIs = append(l.URIs, r.URI)
		}
	}
	for _, uri := range l.URIs {
		if l.Media[uri] != nil {
			continue
		}
		b, err := read(uri)
		if err != nil {
			return nil, err
		}
		if l.Media[uri], err = ParseMediaPlaylist(b); err != nil {
			return nil, fmt.Errorf("%s: %w", uri, err)
		}
	}
	return l, nil
}

// Files lists every file the ladder references, relative to the master playlist: the
// renditions' playlists, their init segments and segments (not the master itself).
func (l *Ladder) Files() []string {
	var files []string
	for _, uri := range l.URIs {
		files = append(files, uri)
		dir := path.Dir(uri)
		if m := l.Media[uri].Map; m != "" {
			files = append(files, path.Join(dir, m))
		}
		for _, s := range l.Media[uri].Segments {
			files = append(files, path.Join(dir, s.URI))
		}
	}
	return files
}

// Duration is the length of the first variant, which every rendition shares; zero for a
// master without variants.
func (l *Ladder) Duration() float64 {
	if len(l.Master.Variants) == 0 {
		return 0
	}
	return l.Media[l.Master.Variants[0].URI].Duration()
}
