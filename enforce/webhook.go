package enforce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
)

// MaxRequestBytes bounds an AdmissionReview body (the apiserver's own
// request limit is 3 MiB).
const MaxRequestBytes = 3 << 20

// defaultDeadline is a request's time budget when none is configured.
const defaultDeadline = 9 * time.Second

// Webhook is the HTTP face of a Handler: POST /mutate and /validate with an
// admission.k8s.io/v1 AdmissionReview. Malformed input gets a 4xx, never a
// panic or an allow.
type Webhook struct {
	Handler *Handler
	// Deadline caps the time spent on one request (default 9s); the
	// apiserver's own ?timeout= is honoured when shorter, less a margin.
	Deadline time.Duration
	Log      *slog.Logger
	// TrustConfig, if set, answers TrustConfigPath.
	TrustConfig *TrustConfig
}

func (wh *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var mutate bool
	switch r.URL.Path {
	case "/mutate":
		mutate = true
	case "/validate":
	case TrustConfigPath:
		if wh.TrustConfig == nil {
			http.NotFound(w, r)
			return
		}
	default:
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "use POST", http.StatusMethodNotAllowed)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		http.Error(w, "Content-Type must be application/json, got "+ct, http.StatusUnsupportedMediaType)
		return
	}
	review, status, err := decodeReview(http.MaxBytesReader(w, r.Body, MaxRequestBytes))
	if err != nil {
		http.Error(w, err.Error(), status)
		return
	}
	var resp *admissionv1.AdmissionResponse
	if r.URL.Path == TrustConfigPath {
		resp = wh.TrustConfig.Review(review.Request)
	} else {
		ctx, cancel := context.WithTimeout(r.Context(), wh.deadline(r))
		defer cancel()
		resp = wh.Handler.Handle(ctx, review.Request, mutate)
	}
	resp.UID = review.Request.UID
	out := admissionv1.AdmissionReview{TypeMeta: review.TypeMeta, Response: resp}
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(out); err != nil && wh.Log != nil {
		wh.Log.Error("writing admission response", "err", err)
	}
}

// decodeReview reads and checks an AdmissionReview.
func decodeReview(body io.Reader) (*admissionv1.AdmissionReview, int, error) {
	var review admissionv1.AdmissionReview
	dec := json.NewDecoder(body)
	if err := dec.Decode(&review); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("AdmissionReview larger than %d bytes", MaxRequestBytes)
		}
		return nil, http.StatusBadRequest, fmt.Errorf("malformed AdmissionReview: %v", err)
	}
	if review.APIVersion != "admission.k8s.io/v1" || review.Kind != "AdmissionReview" {
		return nil, http.StatusBadRequest, fmt.Errorf("expected admission.k8s.io/v1 AdmissionReview, got %s %s", review.APIVersion, review.Kind)
	}
	if review.Request == nil || review.Request.UID == "" {
		return nil, http.StatusBadRequest, errors.New("AdmissionReview has no request or no request uid")
	}
	return &review, 0, nil
}

// deadline is the time budget of one request: the configured cap, or the
// apiserver's ?timeout= less a margin for the response to travel back.
func (wh *Webhook) deadline(r *http.Request) time.Duration {
	d := wh.Deadline
	if d == 0 {
		d = defaultDeadline
	}
	if t, err := time.ParseDuration(r.URL.Query().Get("timeout")); err == nil && t > 0 {
		margin := min(t/5, time.Second)
		d = min(d, t-margin)
	}
	return d
}
