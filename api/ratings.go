package api

// Likes and dislikes of videos.

import (
	"net/http"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
)

var ratingValues = map[oapi.Rating]int{oapi.Like: store.RatingLike, oapi.Dislike: store.RatingDislike, oapi.None: store.RatingNone}

func ratingName(v int) oapi.Rating {
	switch v {
	case store.RatingLike:
		return oapi.Like
	case store.RatingDislike:
		return oapi.Dislike
	default:
		return oapi.None
	}
}

// RateVideo likes, dislikes or un-rates a video the caller can see.
func (s *Server) RateVideo(w http.ResponseWriter, r *http.Request, id oapi.VideoID) {
	s.handle(w, r, func() error {
		user, req, err := userRequest[oapi.RatingRequest](w, r)
		if err != nil {
			return err
		}
		value, ok := ratingValues[req.Rating]
		if !ok {
			return errField("rating", "must be like, dislike or none")
		}
		v, err := s.visibleVideo(r, id)
		if err != nil {
			return err
		}
		likes, dislikes, err := s.db.Rate(r.Context(), user.ID, v.ID, value)
		err = orNotFound(err, errNotFound)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, oapi.RatingState{Likes: likes, Dislikes: dislikes, MyRating: req.Rating})
		return nil
	})
}
