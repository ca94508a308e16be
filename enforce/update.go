package enforce

import admissionv1 "k8s.io/api/admission/v1"

// What an UPDATE decides.
//
// An UPDATE decides only the images it changes, as Kyverno does (it skips
// an image whose JSON path holds the same value in object and oldObject).
// An image is unchanged when the old object (request.oldObject, the one the
// apiserver has stored) holds the same reference at the same field: the
// same JSON pointer, e.g. /spec/containers/0/image or
// /spec/volumes/1/image/reference. Everything else is changed, and decided
// in full (resolved, verified, pinned, and its digest required by the
// validating pass) exactly as on CREATE:
//   - a reference edited in place, a digest removed or replaced;
//   - an ephemeral container added (pods/ephemeralcontainers): a new field,
//     even when another container of the pod already runs that reference;
//   - an image moved to another container, init container or volume, or a
//     container added to a template: the field is new or holds another
//     reference, so a reference never travels between fields undecided.
//
// Unchanged images are not decided, not pinned (pinning a running pod's
// image would restart its container; a template's would roll it out) and
// not required to carry a digest: a metadata-only update (a finalizer
// removed by the Job controller, ownerReferences cleared by the garbage
// collector, `kubectl label`) passes without a registry request, whatever
// the trust file says now. An object that predates signet keeps the tags
// it was stored with until an update changes them; its running images are
// the background verifier's to report. Whether an image may keep running
// under a tightened trust file is likewise the background verifier's
// question, not an UPDATE's.
//
// An UPDATE without an old object, or with one whose images cannot be
// read, decides every image (fail closed).

// changedImages splits the images of an UPDATE's object into those it
// changes and those the old object already holds at the same field.
func changedImages(req *admissionv1.AdmissionRequest, images []Image) (changed, unchanged []Image) {
	if len(req.OldObject.Raw) == 0 {
		return images, nil
	}
	old, err := ExtractWorkload(req.Kind.Kind, req.OldObject.Raw, req.SubResource == "ephemeralcontainers")
	if err != nil {
		return images, nil
	}
	before := make(map[string]string, len(old.Images))
	for _, img := range old.Images {
		before[img.Pointer] = img.Image
	}
	for _, img := range images {
		if prev, ok := before[img.Pointer]; ok && img.Image != "" && prev == img.Image {
			unchanged = append(unchanged, img)
		} else {
			changed = append(changed, img)
		}
	}
	return changed, unchanged
}
