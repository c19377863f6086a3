package growfile

import (
	"fmt"
	"os"
)

// Writer downloads into a file through a temporary name, path+".part",
// and publishes its progress on a File. A retried download writes the
// temporary file again from its start, over what the failed try wrote:
// the same object gives the same bytes, so what readers read stays true
// (Restart refuses another object).
type Writer struct {
	file *File
	path string
	tmp  string
	w    *os.File // the temporary file, written
	r    *os.File // the temporary file, read: it survives the rename

	off    int64  // how far this try has written
	high   int64  // how far any try has written
	length int64  // the length the tries announced, -1 unknown
	etag   string // the object's ETag the tries saw, if any
	tried  bool
}

// Create starts a download into path.
func Create(path string) (*Writer, error) {
	tmp := path + ".part"
	w, err := os.Create(tmp)
	if err != nil {
		return nil, err
	}
	r, err := os.Open(tmp)
	if err != nil {
		w.Close()
		_ = os.Remove(tmp)
		return nil, err
	}
	return &Writer{file: NewFile(path, r), path: path, tmp: tmp, w: w, r: r, length: -1}, nil
}

// File is the download's progress, for readers.
func (w *Writer) File() *File { return w.file }

// Data is the file's bytes for readers in another process (see Follow):
// a handle that stays valid when the download completes and renames it.
func (w *Writer) Data() *os.File { return w.r }

// Restart begins a try: from the file's start, of an object of length
// bytes (-1 when unknown) and the given ETag (empty when unknown). Another
// length or ETag than an earlier try's is ErrChanged.
func (w *Writer) Restart(length int64, etag string) error {
	if w.tried && (length != w.length || etag != w.etag) {
		return fmt.Errorf("%w: %d bytes (ETag %q), then %d bytes (ETag %q)", ErrChanged, w.length, w.etag, length, etag)
	}
	w.tried, w.length, w.etag, w.off = true, length, etag, 0
	if length >= 0 {
		w.file.setSize(length)
	}
	return nil
}

// Write writes p at the try's position, and publishes what the file holds.
func (w *Writer) Write(p []byte) (int, error) {
	n, err := w.w.WriteAt(p, w.off)
	w.off += int64(n)
	w.high = max(w.high, w.off)
	w.file.wrote(w.high)
	return n, err
}

// Commit completes the download with what the last try wrote: the file
// is renamed to its path and readers read to its end.
func (w *Writer) Commit() error {
	if w.off < w.high {
		return fmt.Errorf("%w: an earlier try wrote %d bytes, the last %d", ErrChanged, w.high, w.off)
	}
	err := w.w.Truncate(w.off)
	if cerr := w.w.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(w.tmp, w.path)
	}
	if err != nil {
		_ = os.Remove(w.tmp)
		w.file.fail(err)
		return err
	}
	w.file.finish(w.off)
	return nil
}

// Abort gives the download up: readers get err, and the temporary file goes.
func (w *Writer) Abort(err error) {
	_ = w.w.Close()
	_ = os.Remove(w.tmp)
	w.file.fail(err)
}

// Close releases the readers' handle, once no reader reads any more.
func (w *Writer) Close() error { return w.r.Close() }
