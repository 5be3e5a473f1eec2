/*
 * SMS segment counter for <textarea data-sms-counter>.
 *
 * Shows, in an aria-live="polite" element right after each such textarea,
 * how long the text is and how many SMS segments it takes, e.g.
 * "142 characters · GSM-7 · 1 SMS segment". No inline code: it works under a
 * CSP without 'unsafe-inline'.
 *
 * If data-sms-counter holds a JSON object of placeholder -> text (see
 * notices.templating.worst_case_values), each {placeholder} is replaced by
 * that text before counting, and the counter shows the longest case.
 *
 * KEEP IN SYNC with notices/sms.py: the character tables and the counting
 * rules must stay identical (tests/notices/test_sms.py compares the two).
 */
(function () {
  "use strict";

  // GSM 03.38 basic character set, code order 0x00-0x7F, without 0x1B (escape).
  var GSM7_BASIC = new Set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ" +
      " !\"#¤%&'()*+,-./0123456789:;<=>?" +
      "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§" +
      "¿abcdefghijklmnopqrstuvwxyzäöñüà"
  );
  // The extension table: each costs an escape septet plus its own.
  var GSM7_EXTENSION = new Set("\f^{}\\[~]|€");
  var LIMITS = { "GSM-7": [160, 153], "UCS-2": [70, 67] };

  /** Characters that force UCS-2, each once, in order of appearance. */
  function nonGsmCharacters(text) {
    var seen = [];
    for (var ch of text) {
      if (!GSM7_BASIC.has(ch) && !GSM7_EXTENSION.has(ch) && seen.indexOf(ch) < 0) {
        seen.push(ch);
      }
    }
    return seen;
  }

  function smsSegments(text) {
    var encoding = "GSM-7";
    var costs = [];
    for (var ch of text) {
      if (GSM7_BASIC.has(ch)) {
        costs.push(1);
      } else if (GSM7_EXTENSION.has(ch)) {
        costs.push(2);
      } else {
        encoding = "UCS-2";
        break;
      }
    }
    if (encoding === "UCS-2") {
      costs = [];
      // for...of walks code points: a surrogate pair is one step of length 2.
      for (var c of text) costs.push(c.length);
    }
    var single = LIMITS[encoding][0];
    var multi = LIMITS[encoding][1];
    var total = costs.reduce(function (a, b) { return a + b; }, 0);
    if (total <= single) {
      return { encoding: encoding, characters: total, segments: total ? 1 : 0, perSegment: single };
    }
    // Fill segments greedily; a pair that would straddle a boundary starts the next one.
    var segments = 1;
    var used = 0;
    for (var cost of costs) {
      if (used + cost > multi) {
        segments += 1;
        used = 0;
      }
      used += cost;
    }
    return { encoding: encoding, characters: total, segments: segments, perSegment: multi };
  }

  /** {name} -> values[name]; {{ and }} -> { and }; unknown placeholders stay. */
  function substitute(template, values) {
    return template.replace(/\{\{|\}\}|\{(\w+)\}/g, function (match, name) {
      if (match === "{{") return "{";
      if (match === "}}") return "}";
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : match;
    });
  }

  var WORDS = {
    en: {
      characters: function (n) { return n === 1 ? "1 character" : n + " characters"; },
      longest: function (s) { return "up to " + s; },
      because: function (ch) { return "because of \u201c" + ch + "\u201d"; },
      segments: function (n) { return n === 1 ? "1 SMS segment" : n + " SMS segments"; },
    },
    fr: {
      characters: function (n) { return n <= 1 ? n + " caractère" : n + " caractères"; },
      longest: function (s) { return "jusqu'à " + s; },
      because: function (ch) { return "à cause de \u00ab\u00a0" + ch + "\u00a0\u00bb"; },
      segments: function (n) { return n <= 1 ? n + " segment SMS" : n + " segments SMS"; },
    },
  };

  /** "142 characters · GSM-7 · 1 SMS segment" in "en" or "fr". */
  function describe(text, options) {
    options = options || {};
    var words = WORDS[(options.language || "en").slice(0, 2)] || WORDS.en;
    var counted = options.values ? substitute(text, options.values) : text;
    var result = smsSegments(counted);
    var chars = words.characters(result.characters);
    var encoding = result.encoding;
    if (encoding === "UCS-2") {
      encoding += " (" + words.because(nonGsmCharacters(counted)[0]) + ")";
    }
    return [options.values ? words.longest(chars) : chars, encoding, words.segments(result.segments)].join(
      " \u00b7 "
    );
  }

  function attach(textarea) {
    if (textarea.hasAttribute("data-sms-counter-ready")) return;
    textarea.setAttribute("data-sms-counter-ready", "");
    var values = null;
    var raw = textarea.getAttribute("data-sms-counter");
    if (raw) {
      try {
        values = JSON.parse(raw);
      } catch (e) {
        values = null; // a plain marker attribute: count the text as typed
      }
    }
    var output = textarea.nextElementSibling;
    if (!output || !output.hasAttribute("data-sms-counter-output")) {
      output = document.createElement("p");
      output.className = "sms-counter";
      output.setAttribute("data-sms-counter-output", "");
      textarea.insertAdjacentElement("afterend", output);
    }
    output.setAttribute("aria-live", "polite");
    if (!output.id) output.id = (textarea.id || "sms") + "-sms-counter";
    var described = (textarea.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
    if (described.indexOf(output.id) < 0) {
      described.push(output.id);
      textarea.setAttribute("aria-describedby", described.join(" "));
    }
    var langHolder = textarea.closest("[lang]");
    var language = langHolder ? langHolder.getAttribute("lang") : "en";
    var timer = null;
    function update() {
      timer = null;
      var text = describe(textarea.value, { language: language, values: values });
      if (output.textContent !== text) output.textContent = text;
    }
    // A short pause before updating, so screen readers are not told every keystroke.
    textarea.addEventListener("input", function () {
      if (timer) clearTimeout(timer);
      timer = setTimeout(update, 250);
    });
    update();
  }

  function attachAll(root) {
    (root || document).querySelectorAll("textarea[data-sms-counter]").forEach(function (textarea) {
      // The admin's hidden inline template is copied for "Add another": leave
      // it bare, so each copy gets its own counter when it is added.
      if (!textarea.closest(".empty-form")) attach(textarea);
    });
  }

  var api = {
    GSM7_BASIC: GSM7_BASIC,
    GSM7_EXTENSION: GSM7_EXTENSION,
    smsSegments: smsSegments,
    nonGsmCharacters: nonGsmCharacters,
    substitute: substitute,
    describe: describe,
  };
  if (typeof module === "object" && module.exports) {
    module.exports = api;
  }
  if (typeof document !== "undefined") {
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", function () { attachAll(); });
    } else {
      attachAll();
    }
    // Django's admin announces inline rows added with "Add another".
    document.addEventListener("formset:added", function (event) { attachAll(event.target); });
  }
})();
