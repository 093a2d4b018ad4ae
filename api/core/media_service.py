"""The image and provenance capabilities as the application uses them: the signer, trust anchors,
the manifest store and the image watermark, loaded once and shared by the routes and the CLI."""

from __future__ import annotations

import hashlib
import importlib
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from api.core.budget import DecodeBudget
from api.core.settings import Settings
from detect.audio import audio_watermark_finding
from detect.content import Content
from detect.image import image_watermark_finding
from detect.inspect import VIDEO_SECONDS, Checks, inspect, sound_only
from detect.labels import AI_SOURCE_TYPES
from detect.recovery import MarkReading
from detect.report import Report, WatermarkFinding
from detect.trust_naming import ListTrust
from detect.video import video_watermark_finding
from provenance.c2pa_io import SUPPORTED_MIME, Ingredient, SignedAsset, sign_asset
from provenance.content_code import ISCC_ALG, ContentCode, nearest, raster_code, sound_code, video_code
from provenance.credentials import (
    DEV_SIGNER_NAME,
    SIGNING_ALGS,
    SigningCredentials,
    credentials_from_files,
    ensure_dev_credentials,
)
from provenance.labels import AigcLabel, carrier_of, read_labels, write_labels
from provenance.manifest import TRAINED, asset_manifest, source_type_uri
from provenance.media_types import sniff_media
from provenance.soft_binding import ALG, AUDIO_ALG, VIDEO_ALG, binding_value, sign_and_store
from provenance.store import ManifestRecord, ManifestStore, SoftBindingMatch
from provenance.trust import TrustAnchors, load_trust_anchors
from provenance.trust_lists import TrustList, load_trust_list
from watermark.audio import AudioWatermarkDetector, AudioWatermarker
from watermark.audio.files import DETECT_SECONDS, MarkedAudioFile, detect_audio, mark_audio, probe_audio
from watermark.errors import ConfigurationError, InvalidInput, UnsupportedMedia
from watermark.image import ImageWatermarkDetector, ImageWatermarker, MarkedImage, read_image, watermark_file
from watermark.image.codec import ImageHeader, read_header
from watermark.keys import KeyRing
from watermark.video import MarkedVideo, VideoMarker, detect_video, mark_video, probe_video

__all__ = ["MediaService", "SignedResult"]


@dataclass(frozen=True)
class SignedResult:
    """A signed (and possibly watermarked) file with its store record."""

    data: bytes
    mime: str
    record: ManifestRecord
    marked: MarkedImage | MarkedVideo | MarkedAudioFile | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (without the bytes)."""
        out: dict[str, Any] = {
            "manifest_id": self.record.manifest_id,
            "mime_type": self.mime,
            "asset_sha256": self.record.asset_sha256,
            "signer": self.record.signer,
            "development_signer": self.record.development_signer,
        }
        if self.marked is not None:
            out["watermark"] = self.marked.to_dict() | {"record_id": self.marked.payload.record_hex}
        return out


def _load_callback(path: str) -> Callable[[bytes], bytes]:
    module, _, name = path.partition(":")
    try:
        fn = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError):
        raise ConfigurationError(f"signer callback {path!r} cannot be imported (expected 'module:function')") from None
    if not callable(fn):
        raise ConfigurationError(f"signer callback {path!r} is not callable")
    return fn  # type: ignore[no-any-return]


class MediaService:
    """Signer, trust anchors, manifest store and image watermark for one set of settings."""

    def __init__(self, settings: Settings, keyring: Callable[[], KeyRing], store: ManifestStore) -> None:
        self.settings = settings
        self._keyring = keyring
        self.store = store
        self._lock = threading.Lock()
        self._credentials: SigningCredentials | None = None
        self._callback: Callable[[bytes], bytes] | None = None
        self._anchors: TrustAnchors | None = None
        self._trust_list: TrustList | None = None
        self._detector: ImageWatermarkDetector | None = None
        self._audio_detector: AudioWatermarkDetector | None = None
        self.budget = DecodeBudget(settings.decode_budget)

    def _decoding(self, nbytes: int) -> AbstractContextManager[None]:
        """Hold ``nbytes`` of the process's decode budget.

        Raises:
            Overloaded: no room within half the request timeout.
        """
        return self.budget.reserve(nbytes, timeout=self.settings.request_timeout_s / 2)

    def _header(self, data: bytes) -> ImageHeader:
        """The image's header (no pixel decode).

        Raises:
            InvalidInput, UnsupportedMedia, PayloadTooLarge: an unreadable, unsupported or too large header.
        """
        return read_header(data, max_pixels=self.settings.max_pixels)

    def credentials(self) -> SigningCredentials:
        """The configured signing credentials (the development CA is made on first use)."""
        with self._lock:
            if self._credentials is None:
                s = self.settings
                if s.signer == "dev":
                    self._credentials = ensure_dev_credentials(s.data_dir)
                elif s.signer_chain is None or (s.signer == "files" and s.signer_key is None):
                    raise ConfigurationError(
                        f"signer {s.signer!r} needs signer_chain" + " and signer_key" * (s.signer == "files")
                    )
                elif s.signer == "files":
                    assert s.signer_key is not None
                    self._credentials = credentials_from_files(s.signer_chain, s.signer_key, alg=s.signer_alg)
                else:
                    try:
                        chain = s.signer_chain.read_text()
                    except OSError as exc:
                        raise ConfigurationError(f"cannot read {s.signer_chain}: {exc.strerror}") from None
                    if s.signer_alg.lower() not in SIGNING_ALGS:
                        raise ConfigurationError(f"signer_alg must be one of {', '.join(SIGNING_ALGS)}")
                    self._callback = _load_callback(s.signer_callback or "")
                    self._credentials = SigningCredentials(alg=s.signer_alg.lower(), chain_pem=chain, private_key=None)
            return self._credentials

    @property
    def sign_callback(self) -> Callable[[bytes], bytes] | None:
        """The configured signing callable (a KMS or HSM), or None when the key is in files."""
        self.credentials()
        return self._callback

    @property
    def signer_name(self) -> str:
        """The name recorded for this signer."""
        creds = self.credentials()
        return self.settings.signer_name or (DEV_SIGNER_NAME if creds.development else "configured signer")

    def trust_list(self) -> TrustList | None:
        """The C2PA Trust List in force (installed or shipped), or None when turned off."""
        if self._trust_list is None and self.settings.c2pa_trust_list:
            self._trust_list = load_trust_list("signers", data_dir=self.settings.data_dir)
        return self._trust_list

    def trust_anchors(self) -> TrustAnchors:
        """Configured trust anchors (plus the development root when opted in), then the C2PA Trust
        List's; beside them the time-stamp authorities: configured ones, then the C2PA TSA Trust List's."""
        if self._anchors is None:
            s = self.settings
            dev = self.credentials() if s.trust_dev_signer and s.signer == "dev" else None
            anchors = load_trust_anchors(s.trust_anchors, development=dev)
            tsa = load_trust_anchors(s.tsa_trust_anchors)
            listed = self.trust_list()
            if listed is not None:
                anchors += listed.anchors()
                tsa += load_trust_list("tsa", data_dir=s.data_dir).anchors()
            self._anchors = TrustAnchors(anchors, tsa=tsa)
        return self._anchors

    def trust_naming(self) -> ListTrust:
        """Who vouches for a trusted signer, per the C2PA Trust List in force."""
        return ListTrust(self.trust_list())

    @property
    def producer(self) -> str:
        """The ContentProducer of the implicit labels written here."""
        return self.settings.label_producer or self.settings.generator_name

    def output_label(self, produce_id: str) -> AigcLabel:
        """The implicit label of an output made here: AI-generated, by this provider, under ``produce_id``."""
        return AigcLabel(label="1", content_producer=self.producer[:1024], produce_id=produce_id)

    def signed_label(self, digital_source_type: str | None, content: bytes) -> AigcLabel | None:
        """The implicit label content signed here as AI-made gets (None: labels off, or not declared AI).
        Its ``ProduceID`` is the content's hash (the first 32 hex digits of its SHA-256)."""
        short = (digital_source_type or "").rsplit("/", 1)[-1]
        if not self.settings.label_outputs or short not in AI_SOURCE_TYPES:
            return None
        return self.output_label(hashlib.sha256(content).hexdigest()[:32])

    def detector(self) -> ImageWatermarkDetector:
        """The image watermark detector over every key."""
        if self._detector is None:
            self._detector = ImageWatermarkDetector(self._keyring())
        return self._detector

    def audio_detector(self) -> AudioWatermarkDetector:
        """The audio watermark detector over every key."""
        if self._audio_detector is None:
            self._audio_detector = AudioWatermarkDetector(self._keyring())
        return self._audio_detector

    def _mark_media(
        self, data: bytes, mime: str, key_id: str | None
    ) -> tuple[MarkedVideo | MarkedAudioFile, tuple[str, ...]]:
        """A video (frames and soundtrack) or a sound marked inside the decode budget, and the
        marks' soft-binding algorithms (one payload)."""
        if mime not in SUPPORTED_MIME:
            hint = " (`assay audio mark` marks it without signing)" if mime.startswith("audio/") else ""
            raise UnsupportedMedia(f"C2PA cannot embed a manifest into {mime}{hint}")
        ring = self._keyring()
        speaker = AudioWatermarker(ring, strength=self.settings.audio_strength)
        if mime.startswith("audio/"):
            seconds = self.settings.max_audio_seconds
            with self._decoding(self._sound_bytes(data, seconds)):
                return mark_audio(data, speaker, key_id=key_id, max_seconds=seconds), (AUDIO_ALG,)
        seconds = self.settings.max_audio_seconds
        with self._decoding(probe_video(data).marking_bytes() + self._sound_bytes(data, seconds)):
            marked = mark_video(
                data,
                VideoMarker(ring),
                key_id=key_id,
                max_frames=self.settings.max_video_frames,
                max_pixel_frames=self.settings.max_video_pixel_frames,
                audio=speaker,
                max_audio_seconds=seconds,
            )
        return marked, (VIDEO_ALG, AUDIO_ALG) if marked.soundtrack_snr_db is not None else (VIDEO_ALG,)

    def _media_fingerprints(self, data: bytes, mime: str) -> list[tuple[str, bytes]]:
        """A sound's or a video's content code as a soft binding to register (none for a short or
        silent sound, a still or unreadable video, or without the program that makes the code)."""
        code = self._media_code(data, mime)
        return [(ISCC_ALG, code.binding)] if code is not None else []

    def _media_code(self, data: bytes, mime: str) -> ContentCode | None:
        """A sound's audio code or a video's video code (a video holding only sound: its audio
        code), made inside the decode budget's share a detection of it holds."""
        if mime.startswith("audio/") or sound_only(data, mime):
            with self._decoding(self._sound_bytes(data, DETECT_SECONDS)):
                return sound_code(data)
        try:
            held = probe_video(data).detection_bytes()
        except InvalidInput:
            return None  # FFmpeg could not read it either: no code
        with self._decoding(held):
            return video_code(data, mime)

    @staticmethod
    def _sound_bytes(data: bytes, max_seconds: float) -> int:
        """What marking a sound or a video's soundtrack (at most ``max_seconds``) holds, in bytes
        of the decode budget (0: none, or unreadable: marking then says why)."""
        try:
            probe = probe_audio(data)
        except InvalidInput:
            return 0
        return probe.held_bytes(max_seconds)

    def watermark_and_sign(self, data: bytes, *, title: str, key_id: str | None = None) -> SignedResult:
        """Watermark an image, a video or a sound, sign a manifest declaring AI origin soft-bound
        to the mark, store it.

        Raises:
            InvalidInput, UnsupportedMedia, PayloadTooLarge: an unreadable, unsupported or too large file.
            UnknownKey: ``key_id`` is not in the key ring.
            SignatureInvalid: signing failed.
        """
        mime = sniff_media(data)
        marked: MarkedImage | MarkedVideo | MarkedAudioFile
        fingerprints: list[tuple[str, bytes]] = []  # the content code, for recovery without the mark
        if mime is not None and mime.startswith(("video/", "audio/")):
            marked, algs = self._mark_media(data, mime, key_id)
            source_type = None  # IPTC source types live in image XMP
            fingerprints = self._media_fingerprints(marked.data, mime)
        else:
            with self._decoding(self._header(data).mark_bytes):
                marked = watermark_file(
                    data, ImageWatermarker(self._keyring()), key_id=key_id, max_pixels=self.settings.max_pixels
                )
                code = raster_code(read_image(marked.data, max_pixels=self.settings.max_pixels, native=True))
            mime, algs, source_type = marked.mime_type, (ALG,), TRAINED
            fingerprints = [(ISCC_ALG, code.binding)] if code is not None else []
            if mime not in SUPPORTED_MIME:
                raise UnsupportedMedia(f"C2PA cannot embed a manifest into {mime}")
        out = marked.data
        if self.settings.label_outputs:  # metadata first: the signature then covers it
            label = self.output_label(marked.payload.record_hex)
            out = write_labels(out, mime, aigc=label, source_type=source_type)
        bound = sign_and_store(
            out,
            mime,
            marked.payload.to_bytes(),
            self.credentials(),
            self.store,
            title=title,
            model=self.settings.generator_name,
            signer=self.signer_name,
            sign_callback=self._callback,
            tsa_url=self.settings.tsa_url,
            alg=algs,
            fingerprints=fingerprints,
        )
        return SignedResult(bound.signed.data, mime, bound.record, marked)

    def sign(
        self,
        data: bytes,
        *,
        title: str,
        action: str = "c2pa.created",
        digital_source_type: str | None = None,
        software_agent: str | None = None,
        parent: bytes | None = None,
    ) -> SignedResult:
        """Sign an asset with a manifest describing how it was made, and store the manifest.

        ``parent``: the asset this one was made from (its credentials are carried along as a
        ``parentOf`` ingredient).

        Raises:
            InvalidInput, UnsupportedMedia, PayloadTooLarge: see :meth:`watermark_and_sign`;
                also an unknown action or source type.
            SignatureInvalid: signing failed.
        """
        mime = sniff_media(data)
        fingerprints: list[tuple[str, bytes]] = []  # the content code, for recovery by likeness
        if mime is None:  # an image: its pixels are decoded first, to refuse truncated or bomb images
            header = self._header(data)
            with self._decoding(header.check_bytes):
                code = raster_code(read_image(data, max_pixels=self.settings.max_pixels, native=True))
            mime = header.mime_type
            fingerprints = [(ISCC_ALG, code.binding)] if code is not None else []
        if mime not in SUPPORTED_MIME:
            raise UnsupportedMedia(f"C2PA cannot embed a manifest into {mime}")
        if mime.startswith(("audio/", "video/")):
            fingerprints = self._media_fingerprints(data, mime)
        manifest = asset_manifest(
            title=title,
            software_agent=software_agent or self.settings.generator_name,
            action=action,
            digital_source_type=digital_source_type,
            fingerprints=fingerprints,
            ingredient_ids=["parent"] if parent is not None else (),
        )
        label = self.signed_label(digital_source_type, data) if parent is None else None
        if label is not None and carrier_of(mime) and not any(f.kind == "aigc" for f in read_labels(data, mime)):
            # declared AI-made: the implicit label goes in first, under the signature (a label the
            # file already carries is kept, as the rules ask of markings found on inputs)
            uri = source_type_uri(digital_source_type or "") if carrier_of(mime) == "xmp" else None
            data = write_labels(data, mime, aigc=label, source_type=uri)
        ingredients = [Ingredient(parent, mime, title, label="parent")] if parent is not None else []
        signed = sign_asset(
            data,
            mime,
            manifest,
            self.credentials(),
            sign_callback=self._callback,
            tsa_url=self.settings.tsa_url,
            ingredients=ingredients,
        )
        return SignedResult(signed.data, mime, self.record_signed(signed, signed.data, mime, fingerprints))

    def describe(
        self,
        *,
        title: str,
        action: str,
        digital_source_type: str | None,
        software_agent: str | None,
        implicit_label: AigcLabel | None = None,
    ) -> dict[str, Any]:
        """The manifest definition for content signed here (the agent defaults to the generator name;
        ``implicit_label`` rides inside it, for content without metadata of its own: texts).

        Raises:
            InvalidInput: an unknown action or source type, or a bad title.
        """
        return asset_manifest(
            title=title,
            software_agent=software_agent or self.settings.generator_name,
            action=action,
            digital_source_type=digital_source_type,
            implicit_label=implicit_label.to_json() if implicit_label is not None else None,
        )

    def record_signed(
        self, signed: SignedAsset, asset: bytes, mime: str, fingerprints: Sequence[tuple[str, bytes]] = ()
    ) -> ManifestRecord:
        """Keep a manifest just signed here in the store, under this signer's name (indexed by the
        fingerprints it declares)."""
        return self.store.put(
            manifest_id=signed.label,
            asset=asset,
            mime=mime,
            manifest_store=signed.manifest_store,
            signer=self.signer_name,
            development_signer=self.credentials().development,
            soft_bindings=fingerprints,
        )

    def checks(self) -> Checks:
        """The collaborators an inspection of a file needs: trust, the image detector, the store,
        the pixel limit and the decode budget (texts are the runtime's to add)."""
        return Checks(
            trust_anchors=self.trust_anchors(),
            image_detector=self.detector(),
            audio_detector=self.audio_detector(),
            store=self.store,
            max_pixels=self.settings.max_pixels,
            decoding=self._decoding,
            trust=self.trust_naming(),
        )

    def verify_image(self, data: bytes) -> Report:
        """The full report for an image file (see :func:`detect.inspect.inspect`).

        Raises:
            UnsupportedMedia, PayloadTooLarge: not an image Assay reads, or over the pixel limit.
            Overloaded: the decode budget stayed full for half the request timeout.
        """
        return inspect(Content("image", data), self.checks())

    def verify_media(self, data: bytes, mime: str) -> Report:
        """The report for an audio, video or PDF file: its C2PA manifest, labels and (video, sound) watermarks.

        Raises:
            UnsupportedMedia: a type C2PA cannot read.
        """
        return inspect(Content("media", data, mime=mime), self.checks())

    def matches_by_content(self, data: bytes) -> tuple[list[SoftBindingMatch], WatermarkFinding]:
        """Stored manifests for an image, a video or a sound: by its watermark's soft binding, by its
        content code (a likeness), and by exact hash.

        Raises:
            InvalidInput, UnsupportedMedia, PayloadTooLarge: a file that cannot be read, or over the limits.
            Overloaded: the decode budget stayed full for half the request timeout.
        """
        mime = sniff_media(data)
        reading: MarkReading
        code: ContentCode | None = None
        if mime is not None and (mime.startswith("audio/") or sound_only(data, mime)):
            audio = self.audio_detector()
            with self._decoding(probe_audio(data).held_bytes(DETECT_SECONDS)):
                reading = detect_audio(data, audio)
                code = sound_code(data)
            alg, finding = AUDIO_ALG, audio_watermark_finding(reading, len(audio.keyring))
        elif mime is not None and mime.startswith("video/"):
            probe = probe_video(data)
            with self._decoding(probe.detection_bytes()):
                reading = detect_video(data, self.detector(), max_seconds=VIDEO_SECONDS, probe=probe)
                code = video_code(data, mime)
            alg, finding = VIDEO_ALG, video_watermark_finding(reading, len(self.detector().keyring))
        else:
            detector = self.detector()
            with self._decoding(self._header(data).check_bytes):
                raster = read_image(data, max_pixels=self.settings.max_pixels, native=True)
                image = detector.detect_pixels(raster.pixels, peak=raster.peak)
            reading, alg, finding = image, ALG, image_watermark_finding(image, len(detector.keyring))
            code = raster_code(raster)
        matches: list[SoftBindingMatch] = []
        if reading.found and reading.payload is not None:
            matches = self.store.by_binding(alg, binding_value(reading.payload.to_bytes()))
        if code is not None:  # registered pictures, sounds or videos like this one, as similar as measured
            matches += [
                SoftBindingMatch(m.manifest_id, similarity_score=round(100 * m.similarity))
                for m in nearest(self.store, code)
                if all(m.manifest_id != x.manifest_id for x in matches)
            ]
        seen = {m.manifest_id for m in matches}
        exact = [m for m in self.store.by_asset_hash(hashlib.sha256(data).hexdigest()) if m not in seen]
        return matches + [SoftBindingMatch(m) for m in exact], finding
