// tracegate's one script, loaded by the home page and the seller portal only (their CSP
// allows this file and nothing else). Everything it adds is optional: the pages work
// without it. Words come from the page's own data attributes, in the reader's language.
(function () {
  "use strict";

  // The binding code: a button that copies it.
  var code = document.getElementById("binding-code");
  if (code && navigator.clipboard && code.dataset.copy) {
    var copy = document.createElement("button");
    copy.type = "button";
    copy.className = "copy";
    copy.id = "copy-binding-code";
    copy.textContent = code.dataset.copy;
    var said = document.createElement("span");
    said.setAttribute("role", "status");
    said.className = "copied";
    copy.addEventListener("click", function () {
      navigator.clipboard.writeText(code.textContent.trim()).then(function () {
        said.textContent = code.dataset.copied || "";
      });
    });
    code.insertAdjacentElement("afterend", said);
    code.insertAdjacentElement("afterend", copy);
  }

  // The home page's lookup: scan the code with the phone's camera, where the browser
  // can read barcodes and QR codes itself.
  var form = document.getElementById("lookup");
  var input = document.getElementById("code");
  if (!form || !input || !form.dataset.scan || !("BarcodeDetector" in window) ||
      !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return;
  }
  var scan = document.createElement("button");
  scan.type = "button";
  scan.id = "scan";
  scan.className = "secondary";
  scan.textContent = form.dataset.scan;
  form.appendChild(scan);
  scan.addEventListener("click", function () {
    var video = document.createElement("video");
    video.setAttribute("playsinline", "");
    video.setAttribute("aria-label", form.dataset.scanning || "");
    video.className = "scanner";
    form.insertAdjacentElement("afterend", video);
    var detector = new window.BarcodeDetector();
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (stream) {
      video.srcObject = stream;
      video.play();
      var stop = function () {
        stream.getTracks().forEach(function (t) { t.stop(); });
        video.remove();
      };
      var look = function () {
        detector.detect(video).then(function (found) {
          if (found.length > 0) {
            input.value = found[0].rawValue;
            stop();
            form.submit();
          } else {
            window.setTimeout(look, 250);
          }
        }, stop);
      };
      look();
    }, function () { video.remove(); });
  });
})();
