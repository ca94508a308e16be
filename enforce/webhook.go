package enforce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
)

// MaxRequestBytes bounds an AdmissionReview body (the apiserver's own
// request limit is 3 MiB).
const MaxRequestBytes = 3 << 20

// DefaultBodyTimeout bounds reading one AdmissionReview body once its
// headers are in: a review is small (MaxRequestBytes at most, usually a few
// KiB) and the apiserver sends it at once, so a client still sending after
// this is slow on purpose, holding a connection.
const DefaultBodyTimeout = 2 * time.Second

// DefaultDeadline is a request's time budget when none is configured: below
// the 10s webhook timeout the Helm chart registers, leaving the apiserver
// time to receive the answer.
const DefaultDeadline = 8 * time.Second

// The webhook's paths (TrustConfigPath is the third).
const (
	MutatePath   = "/mutate"
	ValidatePath = "/validate"
)

// Review answers one admission request: Handler.Mutate, Handler.Validate
// and TrustConfig's check each serve one path.
type Review func(ctx context.Context, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse

// Webhook is the HTTP face of a Handler: POST /mutate and /validate (and,
// with TrustConfig, TrustConfigPath) with an admission.k8s.io/v1
// AdmissionReview, one Review per path. Malformed input gets a 4xx, never
// a panic or an allow.
type Webhook struct {
	Handler *Handler
	// Deadline caps the time spent on one request (default
	// DefaultDeadline); the apiserver's own ?timeout= is honoured when
	// shorter, less a margin.
	Deadline time.Duration
	Log      *slog.Logger
	// TrustConfig, if set, answers TrustConfigPath.
	TrustConfig *TrustConfig
	// BodyTimeout bounds reading a request's body (default
	// DefaultBodyTimeout).
	BodyTimeout time.Duration

	once sync.Once
	mux  *http.ServeMux
}

func (wh *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	wh.once.Do(func() {
		wh.mux = http.NewServeMux()
		wh.mux.Handle(MutatePath, wh.serve(wh.Handler.Mutate, true))
		wh.mux.Handle(ValidatePath, wh.serve(wh.Handler.Validate, true))
		if tc := wh.TrustConfig; tc != nil {
			wh.mux.Handle(TrustConfigPath, wh.serve(func(_ context.Context, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
				return tc.Review(req)
			}, false))
		}
	})
	wh.mux.ServeHTTP(w, r)
}

// serve is the HTTP side of one review: method, content type, size limit,
// decoding, the time budget (when bounded) and the response.
func (wh *Webhook) serve(review Review, bounded bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "use POST", http.StatusMethodNotAllowed)
			return
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			http.Error(w, "Content-Type must be application/json, got "+ct, http.StatusUnsupportedMediaType)
			return
		}
		in, status, err := wh.read(w, r)
		if err != nil {
			http.Error(w, err.Error(), status)
			return
		}
		ctx := r.Context()
		if bounded {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, wh.deadline(r))
			defer cancel()
		}
		resp := review(ctx, in.Request)
		resp.UID = in.Request.UID
		out := admissionv1.AdmissionReview{TypeMeta: in.TypeMeta, Response: resp}
		w.Header().Set("Content-Type", "application/json")
		if err := json.NewEncoder(w).Encode(out); err != nil && wh.Log != nil {
			wh.Log.Error("writing admission response", "err", err)
		}
	})
}

// read reads the request's AdmissionReview within the body timeout (a
// read deadline: net/http lifts it once the body is read to its end, so it
// never cuts the decision short) and tells the connection limit the
// request is in.
func (wh *Webhook) read(w http.ResponseWriter, r *http.Request) (*admissionv1.AdmissionReview, int, error) {
	timeout := orDefault(wh.BodyTimeout, DefaultBodyTimeout)
	// Unsupported only outside a server, and by a ResponseWriter wrapper
	// without Unwrap: TestServeCutsASlowBody goes through enforce's own.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(timeout))
	in, status, err := decodeReview(http.MaxBytesReader(w, r.Body, MaxRequestBytes))
	if status == http.StatusRequestTimeout {
		return nil, status, fmt.Errorf("AdmissionReview body not received within %v", timeout)
	}
	requestRead(r.Context())
	return in, status, err
}

// decodeReview reads a whole AdmissionReview body (to its end, so that
// "read" means read) and checks it.
func decodeReview(body io.Reader) (*admissionv1.AdmissionReview, int, error) {
	data, err := io.ReadAll(body)
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("AdmissionReview larger than %d bytes", MaxRequestBytes)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return nil, http.StatusRequestTimeout, err
	case err != nil:
		return nil, http.StatusBadRequest, fmt.Errorf("reading AdmissionReview: %v", err)
	}
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(data, &review); err != nil {
		return nil, http.StatusBadRequest, fmt.Errorf("malformed AdmissionReview: %v", err)
	}
	if review.APIVersion != "admission.k8s.io/v1" || review.Kind != "AdmissionReview" {
		return nil, http.StatusBadRequest, fmt.Errorf("expected admission.k8s.io/v1 AdmissionReview, got %s %s", review.APIVersion, review.Kind)
	}
	if review.Request == nil || review.Request.UID == "" {
		return nil, http.StatusBadRequest, errors.New("AdmissionReview has no request or no request uid")
	}
	if err := checkRequest(review.Request); err != nil {
		return nil, http.StatusBadRequest, err
	}
	return &review, 0, nil
}

// deadline is the time budget of one request: the configured cap, or the
// apiserver's ?timeout= less a margin for the response to travel back.
func (wh *Webhook) deadline(r *http.Request) time.Duration {
	d := orDefault(wh.Deadline, DefaultDeadline)
	if t, err := time.ParseDuration(r.URL.Query().Get("timeout")); err == nil && t > 0 {
		margin := min(t/5, time.Second)
		d = min(d, t-margin)
	}
	return d
}
